use std::io::Write;
use std::process::ExitCode;

use sightline_collector::cli;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let mut config = match cli::parse(std::env::args_os().skip(1)) {
        Ok(config) => config,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // Bound beyond loopback, the dashboard is never open: a token is made up if none given.
    if config.dashboard_token.is_none() && !config.is_loopback() {
        config.dashboard_token = Some(sightline_collector::security::new_token());
    }
    let addr = (config.host.clone(), config.port);
    let db = config.db.clone();
    let test_hooks = config.test_hooks;
    let token = config.dashboard_token.clone();
    let retain_days = config.retain_days;
    let (app, state) = match sightline_collector::build(config) {
        Ok(built) => built,
        Err(e) => {
            eprintln!("sightline-collector: cannot open the database {}: {e}", db.display());
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(addr.clone()).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("sightline-collector: cannot listen on {}:{}: {e}", addr.0, addr.1);
            return ExitCode::FAILURE;
        }
    };
    let local = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("sightline-collector: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The URL's host must be one the Host check accepts: an unspecified address (0.0.0.0)
    // is shown as this machine's loopback.
    let shown =
        if local.ip().is_unspecified() { format!("127.0.0.1:{}", local.port()) } else { local.to_string() };
    let dashboard = match &token {
        Some(t) => format!("http://{shown}/dashboard?token={t}"),
        None => format!("http://{shown}/dashboard"),
    };
    println!("sightline demo: http://{shown}/  dashboard: {dashboard}");
    if token.is_some() {
        println!("the dashboard needs its token: open the link above once (it sets a cookie), or send `Authorization: Bearer <token>`");
    }
    if local.ip().is_unspecified() {
        println!(
            "listening on every interface: pass --allowed-host <name> for each name browsers use to reach it"
        );
    }
    if test_hooks {
        println!("test hooks on: POST/DELETE http://{shown}/__faults, GET http://{shown}/__stats");
    }
    let retention =
        if retain_days == 0 { "kept forever".to_string() } else { format!("kept {retain_days} days") };
    println!("database: {} (data {retention})", db.display());
    let _ = std::io::stdout().flush();
    let cleanup = tokio::spawn(sightline_collector::retention::run(state.clone()));
    // Test hooks answer each request on its own connection (see `server::serve`).
    sightline_collector::server::serve(listener, app, shutdown_signal(), !test_hooks).await;
    cleanup.abort();
    println!("sightline-collector: stopped");
    ExitCode::SUCCESS
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
