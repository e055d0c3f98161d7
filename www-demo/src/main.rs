use std::io::Write;
use std::process::ExitCode;

use sightline_collector::cli::{self, Command};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let config = match cli::parse(std::env::args().skip(1)) {
        Ok(Command::Run(config)) => config,
        Ok(Command::Help) => {
            print!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("sightline-collector: {e}");
            return ExitCode::from(2);
        }
    };
    let addr = (config.host.clone(), config.port);
    let db = config.db.clone();
    let test_hooks = config.test_hooks;
    let app = match sightline_collector::app(config) {
        Ok(app) => app,
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
    println!("sightline demo: http://{local}/  dashboard: http://{local}/dashboard");
    if test_hooks {
        println!("test hooks on: POST/DELETE http://{local}/__faults, GET http://{local}/__stats");
    }
    println!("database: {}", db.display());
    let _ = std::io::stdout().flush();
    // Test hooks answer each request on its own connection (see `server::serve`).
    sightline_collector::server::serve(listener, app, shutdown_signal(), !test_hooks).await;
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
