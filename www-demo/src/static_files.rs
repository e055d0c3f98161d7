//! A small static file server for the demo page, the wasm package and the vendored
//! rrweb-player (a few files; no need for tower-http's).

use std::path::{Component, Path, PathBuf};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

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
}
