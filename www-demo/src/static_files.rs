//! A small static file server for the demo page, the wasm package and the vendored
//! rrweb-player (a few files; no need for tower-http's).

use std::path::{Component, Path, PathBuf};

use axum::extract::Path as UrlPath;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

pub fn mime_for(path: &Path) -> &'static str {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let ext = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "wasm" => "application/wasm",
        "js" | "mjs" | "cjs" => "text/javascript; charset=utf-8",
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "ico" => "image/x-icon",
        "webp" => "image/webp",
        "woff2" => "font/woff2",
        "txt" | "md" | "ts" | "cts" | "mts" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// `base` joined with a request path, refusing anything that could leave `base`.
pub fn resolve(base: &Path, rel: &str) -> Option<PathBuf> {
    if rel.contains(['\\', '\0', '%']) {
        return None;
    }
    let rel = Path::new(rel.trim_start_matches('/'));
    if rel.as_os_str().is_empty() {
        return None;
    }
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    Some(base.join(rel))
}

fn not_found(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("not found: {what}\n"),
    )
        .into_response()
}

/// Serves `base/rel`, with its MIME type and `cache-control: no-cache` (the demo is rebuilt
/// often).
pub async fn serve(base: &Path, rel: &str) -> Response {
    let Some(path) = resolve(base, rel) else { return not_found(rel) };
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            let mut res = bytes.into_response();
            let h = res.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime_for(&path)));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            res
        }
        Err(_) => not_found(rel),
    }
}

/// The API reference that `scripts/api-docs.sh` builds with TypeDoc (git-ignored).
pub fn docs_dir() -> PathBuf {
    crate::cli::repo_root().join("target/api-docs")
}

/// `/docs/`: the API reference, when it has been built; a 404 saying how to build it otherwise.
pub fn docs_router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/docs", get(|| async { Redirect::permanent("/docs/") }))
        .route("/docs/", get(|| async { serve_docs(&docs_dir(), "").await }))
        .route(
            "/docs/{*path}",
            get(|UrlPath(path): UrlPath<String>| async move { serve_docs(&docs_dir(), &path).await }),
        )
}

/// A file of the API reference; a folder means its `index.html`.
pub async fn serve_docs(dir: &Path, rel: &str) -> Response {
    if !dir.join("index.html").is_file() {
        return not_found("/docs/: the API reference is not built (run `bash scripts/api-docs.sh`)");
    }
    if rel.is_empty() || rel.ends_with('/') {
        serve(dir, &format!("{rel}index.html")).await
    } else {
        serve(dir, rel).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_inside_only() {
        let b = Path::new("/srv");
        assert_eq!(resolve(b, "a/b.wasm"), Some(PathBuf::from("/srv/a/b.wasm")));
        assert_eq!(resolve(b, "../etc/passwd"), None);
        assert_eq!(resolve(b, "a/../../x"), None);
        assert_eq!(resolve(b, "a/%2e%2e/x"), None);
        assert_eq!(resolve(b, ""), None);
        assert_eq!(mime_for(Path::new("x/sightline_bg.wasm")), "application/wasm");
        assert_eq!(mime_for(Path::new("rrweb-player.umd.cjs")), "text/javascript; charset=utf-8");
    }

    #[tokio::test]
    async fn docs_serve_index_files_and_say_how_to_build_them() {
        let dir = std::env::temp_dir().join(format!("sightline-docs-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("classes")).unwrap();
        let missing = serve_docs(&dir, "").await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        std::fs::write(dir.join("index.html"), "<h1>sightline</h1>").unwrap();
        std::fs::write(dir.join("classes/Sightline.html"), "class").unwrap();
        assert_eq!(serve_docs(&dir, "").await.status(), StatusCode::OK);
        let page = serve_docs(&dir, "classes/Sightline.html").await;
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(serve_docs(&dir, "../secret").await.status(), StatusCode::NOT_FOUND);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
