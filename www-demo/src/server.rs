//! The accept loop: hyper's HTTP/1 connections around the axum router, with graceful
//! shutdown. Owning the loop (rather than `axum::serve`) lets a test fault close a
//! connection without an answer: a response marked `DropConnection` makes the service fail,
//! so hyper closes the socket, which the browser's fetch sees as a network error.

use std::future::Future;
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tower::ServiceExt;

use crate::routes::DropConnection;

/// How long open connections may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for Dropped {}

/// Resolves on the next change; never when there is no channel (or it is closed).
async fn changed<T>(rx: &mut Option<watch::Receiver<T>>) {
    if let Some(rx) = rx {
        if rx.changed().await.is_ok() {
            return;
        }
    }
    std::future::pending().await
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets open connections finish
/// (for at most `SHUTDOWN_GRACE`). `keep_alive: false` (the test hooks' setting) answers
/// every request on a connection of its own, so that an injected drop is never resent by
/// the client (see `faults::Faults`).
pub async fn serve(listener: TcpListener, app: Router, shutdown: impl Future<Output = ()>, keep_alive: bool) {
    let (stop_tx, stop_rx) = watch::channel(());
    // Every connection task holds a sender; `recv` answers None once all have ended.
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    eprintln!("sightline-collector: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let app = app.clone();
            async move {
                let res = match app.oneshot(req.map(Body::new)).await {
                    Ok(res) => res,
                    Err(never) => match never {},
                };
                if res.extensions().get::<DropConnection>().is_some() {
                    Err(Dropped)
                } else {
                    Ok(res)
                }
            }
        });
        let mut stop = Some(stop_rx.clone());
        let alive = alive_tx.clone();
        tokio::spawn(async move {
            let _alive = alive;
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .keep_alive(keep_alive)
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            // Errors are clients going away (or an injected drop): nothing to report.
            tokio::select! {
                _ = conn.as_mut() => return,
                () = changed(&mut stop) => {}
            }
            // Finishes the request in flight, if any, then closes.
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        });
    }
    drop(listener);
    let _ = stop_tx.send(());
    drop(alive_tx);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, alive_rx.recv()).await;
}
