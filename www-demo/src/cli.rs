//! Command-line options, parsed by hand (clap's derive would double the build time of this
//! small binary on a 2-core machine).

use std::path::{Path, PathBuf};

pub const USAGE: &str = "\
sightline-collector: the demo's Stack Auth-compatible ingestion server, dashboard and demo page

USAGE: sightline-collector [OPTIONS]

OPTIONS:
  --host <HOST>                address to bind (default 127.0.0.1)
  --port <PORT>                port to bind; 0 picks a free one (default 8787)
  --db <PATH>                  SQLite database (default www-demo/data/collector.db in the repo)
  --pkg <DIR>                  the built wasm package, served at /pkg/ (default pkg/ in the repo)
  --vendor <DIR>               node_modules holding rrweb-player, served at /vendor/
                               (default tests/node_modules in the repo)
  --site <DIR>                 the demo site: index.html at /, static/ at /static/
                               (default www-demo/ in the repo)
  --granted-users <a,b,…>      demo users the access check grants (default alice)
  --allow-anonymous            accept batches without x-stack-access-token
  --test-hooks                 mount POST/DELETE /__faults and GET /__stats (tests only)
  -h, --help                   print this help
";

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
    pub test_hooks: bool,
}

/// The repository root, so that the defaults work from any working directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

impl Default for Config {
    fn default() -> Self {
        let root = repo_root();
        Config {
            host: "127.0.0.1".into(),
            port: 8787,
            db: root.join("www-demo/data/collector.db"),
            pkg: root.join("pkg"),
            vendor: root.join("tests/node_modules"),
            site: root.join("www-demo"),
            granted_users: vec!["alice".into()],
            allow_anonymous: false,
            test_hooks: false,
        }
    }
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Run(Config),
    Help,
}

/// Parses the arguments after the program name. `--opt value` and `--opt=value` both work.
pub fn parse<I, S>(args: I) -> Result<Command, String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut config = Config::default();
    let mut args = args.into_iter().map(Into::into);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => args.next().ok_or_else(|| format!("{name} needs a value")),
            }
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--host" => config.host = value("--host")?,
            "--port" => {
                let v = value("--port")?;
                config.port = v.parse().map_err(|_| format!("--port: `{v}` is not a port number"))?;
            }
            "--db" => config.db = value("--db")?.into(),
            "--pkg" => config.pkg = value("--pkg")?.into(),
            "--vendor" => config.vendor = value("--vendor")?.into(),
            "--site" => config.site = value("--site")?.into(),
            "--granted-users" => {
                config.granted_users = value("--granted-users")?
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
            }
            "--allow-anonymous" => config.allow_anonymous = true,
            "--test-hooks" => config.test_hooks = true,
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
        if inline.is_some() && matches!(name.as_str(), "--allow-anonymous" | "--test-hooks" | "--help") {
            return Err(format!("{name} takes no value"));
        }
    }
    Ok(Command::Run(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Config {
        match parse(args.iter().copied()).unwrap() {
            Command::Run(c) => c,
            Command::Help => panic!("help"),
        }
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
            "--test-hooks",
        ]);
        assert_eq!(c.host, "0.0.0.0");
        assert_eq!(c.port, 0);
        assert_eq!(c.db, PathBuf::from("/tmp/x.db"));
        assert_eq!(c.pkg, PathBuf::from("/p"));
        assert_eq!(c.vendor, PathBuf::from("/v"));
        assert_eq!(c.granted_users, vec!["alice".to_string(), "bob".to_string()]);
        assert!(c.allow_anonymous && c.test_hooks);
    }

    #[test]
    fn errors_and_help() {
        assert!(parse(["--port", "x"]).unwrap_err().contains("--port"));
        assert!(parse(["--port"]).unwrap_err().contains("needs a value"));
        assert!(parse(["--nope"]).unwrap_err().contains("--nope"));
        assert!(parse(["--test-hooks=1"]).is_err());
        assert_eq!(parse(["-h"]).unwrap(), Command::Help);
    }
}
