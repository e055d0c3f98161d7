//! Command-line options (clap's derive). `--help` lists every flag with its default.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use clap::Parser;

/// The repository root, so that the defaults work from any working directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// sightline-collector: the demo's Stack Auth-compatible ingestion server, dashboard and
/// demo page (SQLite).
///
/// On a loopback address the dashboard is open to this machine; bound to any other address
/// it needs the dashboard token (printed at start, in the dashboard link).
#[derive(Debug, Parser)]
#[command(name = "sightline-collector", version, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    /// Address to bind. Anything but loopback requires the dashboard token.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to bind; 0 picks a free one.
    #[arg(long, default_value_t = 8787)]
    pub port: u16,
    /// SQLite database (created with its directory if missing).
    #[arg(long, default_value_os_t = repo_root().join("www-demo/data/collector.db"))]
    pub db: PathBuf,
    /// The built wasm package, served at /pkg/.
    #[arg(long, default_value_os_t = repo_root().join("pkg"))]
    pub pkg: PathBuf,
    /// node_modules holding rrweb-player, served at /vendor/.
    #[arg(long, default_value_os_t = repo_root().join("tests/node_modules"))]
    pub vendor: PathBuf,
    /// The demo site: index.html at /, static/ at /static/.
    #[arg(long, default_value_os_t = repo_root().join("www-demo"))]
    pub site: PathBuf,
    /// Demo users the access check grants (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "alice")]
    pub granted_users: Vec<String>,
    /// Accept batches without an x-stack-access-token header [default: off].
    #[arg(long)]
    pub allow_anonymous: bool,
    /// Another name this server may be reached by (the Host header); repeatable. The bound
    /// address, localhost and loopback addresses are always accepted [default: none].
    #[arg(long = "allowed-host", value_name = "NAME")]
    pub allowed_hosts: Vec<String>,
    /// The dashboard's token (open the dashboard with ?token=… once, or send
    /// `Authorization: Bearer …`). Setting it also protects a loopback dashboard
    /// [default: generated at start when not bound to loopback, none on loopback].
    #[arg(long, value_name = "TOKEN", env = "SIGHTLINE_DASHBOARD_TOKEN", hide_env_values = true)]
    pub dashboard_token: Option<String>,
    /// Delete data received more than this many days ago (checked at start and hourly);
    /// 0 keeps everything.
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub retain_days: u32,
    /// Most requests handled at once; more are answered 503 with Retry-After.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub max_concurrency: usize,
    /// Mount POST/DELETE /__faults and GET /__stats (tests only) [default: off].
    #[arg(long)]
    pub test_hooks: bool,
}

/// Everything the server needs to know from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub db: PathBuf,
    pub pkg: PathBuf,
    pub vendor: PathBuf,
    /// The demo site's directory: `index.html` and `static/` are served from it.
    pub site: PathBuf,
    pub granted_users: Vec<String>,
    pub allow_anonymous: bool,
    /// Extra names accepted in the Host header (besides the bound address and loopback).
    pub allowed_hosts: Vec<String>,
    /// When set, the dashboard and its API need it (cookie or bearer).
    pub dashboard_token: Option<String>,
    /// 0: keep forever.
    pub retain_days: u32,
    pub max_concurrency: usize,
    pub test_hooks: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config::from(Cli::parse_from(["sightline-collector"]))
    }
}

impl From<Cli> for Config {
    fn from(c: Cli) -> Self {
        let clean = |p: PathBuf| match p.canonicalize() {
            Ok(abs) => abs,
            Err(_) => p,
        };
        Config {
            host: c.host,
            port: c.port,
            db: c.db,
            pkg: clean(c.pkg),
            vendor: clean(c.vendor),
            site: clean(c.site),
            granted_users: c
                .granted_users
                .into_iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            allow_anonymous: c.allow_anonymous,
            allowed_hosts: c.allowed_hosts.into_iter().map(|h| h.trim().to_ascii_lowercase()).collect(),
            dashboard_token: c.dashboard_token.filter(|t| !t.is_empty()),
            retain_days: c.retain_days,
            max_concurrency: c.max_concurrency.max(1),
            test_hooks: c.test_hooks,
        }
    }
}

impl Config {
    /// Whether `host` (the `--host` value) is a loopback address or `localhost`.
    pub fn is_loopback(&self) -> bool {
        is_loopback_name(&self.host)
    }
}

pub fn is_loopback_name(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().map(|ip| ip.is_loopback()).unwrap_or(false)
}

/// Parses the arguments after the program name (clap's errors carry the usage).
pub fn parse<I, S>(args: I) -> Result<Config, clap::Error>
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    let argv = std::iter::once(std::ffi::OsString::from("sightline-collector"))
        .chain(args.into_iter().map(Into::into));
    Cli::try_parse_from(argv).map(Config::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn run(args: &[&str]) -> Config {
        parse(args.iter().copied()).unwrap()
    }

    #[test]
    fn defaults() {
        let c = run(&[]);
        assert_eq!(c.host, "127.0.0.1");
        assert_eq!(c.port, 8787);
        assert!(c.db.ends_with("www-demo/data/collector.db"));
        assert!(c.pkg.ends_with("pkg"));
        assert!(c.vendor.ends_with("tests/node_modules"));
        assert_eq!(c.granted_users, vec!["alice".to_string()]);
        assert!(!c.allow_anonymous && !c.test_hooks);
        assert_eq!(c.retain_days, 30);
        assert_eq!(c.dashboard_token, None);
        assert!(c.is_loopback());
    }

    #[test]
    fn every_option() {
        let c = run(&[
            "--host",
            "0.0.0.0",
            "--port=0",
            "--db",
            "/tmp/x.db",
            "--pkg",
            "/p",
            "--vendor=/v",
            "--granted-users",
            "alice, bob,",
            "--allow-anonymous",
            "--allowed-host",
            "Demo.Example",
            "--allowed-host=other.test",
            "--dashboard-token",
            "s3cret",
            "--retain-days",
            "7",
            "--max-concurrency",
            "8",
            "--test-hooks",
        ]);
        assert_eq!(c.host, "0.0.0.0");
        assert!(!c.is_loopback());
        assert_eq!(c.port, 0);
        assert_eq!(c.db, PathBuf::from("/tmp/x.db"));
        assert_eq!(c.pkg, PathBuf::from("/p"));
        assert_eq!(c.vendor, PathBuf::from("/v"));
        assert_eq!(c.granted_users, vec!["alice".to_string(), "bob".to_string()]);
        assert_eq!(c.allowed_hosts, vec!["demo.example".to_string(), "other.test".to_string()]);
        assert_eq!(c.dashboard_token.as_deref(), Some("s3cret"));
        assert_eq!((c.retain_days, c.max_concurrency), (7, 8));
        assert!(c.allow_anonymous && c.test_hooks);
    }

    #[test]
    fn errors_and_help() {
        assert!(parse(["--port", "x"]).unwrap_err().to_string().contains("--port"));
        assert!(parse(["--port"]).unwrap_err().to_string().contains("--port"));
        assert!(parse(["--nope"]).unwrap_err().to_string().contains("--nope"));
        assert!(parse(["--test-hooks=1"]).is_err());
        assert_eq!(parse(["-h"]).unwrap_err().kind(), clap::error::ErrorKind::DisplayHelp);
        // Every flag is listed with its default.
        let help = Cli::command().render_long_help().to_string();
        for arg in Cli::command().get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if matches!(long, "help" | "version") {
                continue;
            }
            let start = help.find(&format!("--{long}")).unwrap_or_else(|| panic!("--{long} not in help"));
            let section = &help[start..];
            let end = section[2..].find("\n  -").map_or(section.len(), |i| i + 2);
            assert!(section[..end].contains("[default:"), "--{long} shows no default:\n{}", &section[..end]);
        }
        assert!(is_loopback_name("[::1]") && is_loopback_name("127.0.0.2") && !is_loopback_name("10.0.0.1"));
    }
}
