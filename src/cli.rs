//! Command-line flags. Every flag has an environment variable
//! `PSYCHE_EXPORTER_<FLAG>` (dots and dashes as underscores, upper case).
//! Flags are grouped by collector, dotted as Prometheus exporters do; each
//! collector's group is defined in its own file and gathered by
//! [`crate::collectors::CollectorArgs`]. The one-shot commands are defined here
//! too ([`Command`]); [`crate::commands`] answers them.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::collectors::CollectorArgs;
use crate::flags::parse_duration;
use crate::views::View;

/// Prometheus exporter for the Psyche decentralized training network: training
/// runs and RPC health from Solana, checkpoints from HuggingFace.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "psyche-exporter",
    version = crate::health::VERSION_AND_REVISION,
    about,
    max_term_width = 100
)]
pub struct Cli {
    /// Web server.
    #[command(flatten, next_help_heading = "Web")]
    pub web: WebArgs,
    /// Logging.
    #[command(flatten, next_help_heading = "Logging")]
    pub log: LogArgs,
    /// Every collector's flags, each group under its own heading.
    #[command(flatten)]
    pub collectors: CollectorArgs,
    /// Answer one question and exit instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Web server flags.
#[derive(Debug, Clone, Args)]
pub struct WebArgs {
    /// Address to serve /metrics, /healthz, /readyz and the landing page on.
    #[arg(
        id = "web.listen-address",
        long = "web.listen-address",
        env = "PSYCHE_EXPORTER_WEB_LISTEN_ADDRESS",
        default_value = "0.0.0.0:10580"
    )]
    pub listen_address: SocketAddr,
    /// Path under which to expose metrics; not /, /healthz, /readyz or a path under
    /// /api/.
    #[arg(
        id = "web.telemetry-path",
        long = "web.telemetry-path",
        env = "PSYCHE_EXPORTER_WEB_TELEMETRY_PATH",
        default_value = "/metrics"
    )]
    pub telemetry_path: String,
    /// Path of the MCP endpoint (Model Context Protocol, streamable HTTP): the same
    /// answers as /api/v1/ as tools for agents.
    #[arg(
        id = "web.mcp-path",
        long = "web.mcp-path",
        env = "PSYCHE_EXPORTER_WEB_MCP_PATH",
        default_value = "/mcp"
    )]
    pub mcp_path: String,
    /// Do not serve the MCP endpoint.
    #[arg(
        id = "no-web.mcp",
        long = "no-web.mcp",
        env = "PSYCHE_EXPORTER_NO_WEB_MCP"
    )]
    pub no_mcp: bool,
    /// How long a client may take to send a request's headers (from its connection,
    /// or from the first byte of a later request on it); then the connection is
    /// closed.
    #[arg(id = "web.read-header-timeout", long = "web.read-header-timeout", env = "PSYCHE_EXPORTER_WEB_READ_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub read_header_timeout: Duration,
    /// How long a keep-alive connection may wait for its next request, or a response
    /// may make no progress, before the connection is closed.
    #[arg(id = "web.idle-timeout", long = "web.idle-timeout", env = "PSYCHE_EXPORTER_WEB_IDLE_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    /// Open connections at most. At the cap, a new connection closes the one that has
    /// waited longest without a request in flight; when every one has a request in
    /// flight, the new one is closed.
    #[arg(id = "web.max-connections", long = "web.max-connections", env = "PSYCHE_EXPORTER_WEB_MAX_CONNECTIONS", default_value = "512", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub max_connections: usize,
    /// Web configuration file (the Prometheus exporter-toolkit format): TLS, client
    /// certificates, basic auth users, response headers, for every path. Read once at
    /// start (restart to apply a change); a bad file exits 2.
    #[arg(
        id = "web.config.file",
        long = "web.config.file",
        env = "PSYCHE_EXPORTER_WEB_CONFIG_FILE",
        value_parser = crate::http::web_config::parse_flag
    )]
    pub config_file: Option<crate::http::web_config::WebConfig>,
}

impl WebArgs {
    /// The MCP endpoint's path, unless it is switched off.
    pub fn mcp(&self) -> Option<&str> {
        (!self.no_mcp).then_some(self.mcp_path.as_str())
    }

    /// The paths the flags configure, with their flags: each is checked against
    /// the fixed routes and the others (`http::check_path`).
    pub fn paths(&self) -> Vec<(&'static str, &str)> {
        let mut paths = vec![("--web.telemetry-path", self.telemetry_path.as_str())];
        if let Some(mcp) = self.mcp() {
            paths.push(("--web.mcp-path", mcp));
        }
        paths
    }

    /// The server's limits.
    pub fn limits(&self) -> crate::http::server::Limits {
        crate::http::server::Limits {
            read_header_timeout: self.read_header_timeout,
            idle_timeout: self.idle_timeout,
            max_connections: self.max_connections,
        }
    }

    fn validate(&self) -> Result<(), String> {
        let paths = self.paths();
        for (i, (flag, path)) in paths.iter().enumerate() {
            let others: Vec<&str> = paths[..i].iter().map(|(_, p)| *p).collect();
            crate::http::check_path(path, &others).map_err(|e| format!("{flag}: {e}"))?;
        }
        for (flag, d) in [
            ("--web.read-header-timeout", self.read_header_timeout),
            ("--web.idle-timeout", self.idle_timeout),
        ] {
            if d.is_zero() {
                return Err(format!("{flag} must be more than zero"));
            }
        }
        Ok(())
    }
}

/// Log level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warn,
    /// Start-up, state changes, warnings, errors.
    Info,
    /// Every poll.
    Debug,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// `ts=… level=… msg="…" key=value`.
    Logfmt,
    /// One JSON object per line.
    Json,
}

/// Logging flags.
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Only log messages with the given severity or above.
    #[arg(
        id = "log.level",
        long = "log.level",
        env = "PSYCHE_EXPORTER_LOG_LEVEL",
        value_enum,
        default_value = "info"
    )]
    pub level: LogLevel,
    /// Output format of log messages.
    #[arg(
        id = "log.format",
        long = "log.format",
        env = "PSYCHE_EXPORTER_LOG_FORMAT",
        value_enum,
        default_value = "logfmt"
    )]
    pub format: LogFormat,
}

impl Cli {
    /// Checks clap cannot express; the message names the flags involved.
    pub fn validate(&self) -> Result<(), String> {
        self.web.validate()?;
        self.collectors.validate()?;
        self.web.validate()?;
        if let Some(view) = self.command.as_ref().and_then(Command::view)
            && let Some(first) = view.needs().first()
            && !self.collectors.enabled(first)
        {
            return Err(format!(
                "`{}` needs the {first} collector: drop --no-collector.{first}",
                view.kind()
            ));
        }
        Ok(())
    }

    /// Parse `args` and validate them, as `main` does; errors are clap errors
    /// (exit code 2).
    pub fn try_parse_validated<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::{CommandFactory, FromArgMatches};
        // Global, so that the server's flags also follow a command's name.
        let mut command = Cli::command().mut_args(|a| a.global(true));
        let cli = Cli::from_arg_matches_mut(&mut command.try_get_matches_from_mut(args)?)?;
        cli.validate()
            .map_err(|msg| command.error(clap::error::ErrorKind::ValueValidation, msg))?;
        Ok(cli)
    }
}

/// A question to answer once instead of serving.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Every training run: state, step and progress, epoch, clients, checkpoint age,
    /// last update; active runs first; then the newest models of the --hf.author authors.
    Runs(OutputArgs),
    /// Everything known about one run.
    Run {
        /// The run id.
        run_id: String,
        /// Output.
        #[command(flatten)]
        output: OutputArgs,
    },
    /// The newest checkpoint commits of each watched Hub repo.
    Checkpoints {
        /// Only the repos this run's on-chain checkpoint names.
        #[arg(long = "run", value_name = "RUN_ID")]
        run: Option<String>,
        /// Output.
        #[command(flatten)]
        output: OutputArgs,
    },
    /// The mining pool: capacity, deposited, remaining, fill, vault, lenders.
    Pool(OutputArgs),
    /// Network overview: each RPC endpoint (health, cluster, version, slots, lag, TPS),
    /// active runs and their models, pool funding, ecosystem links.
    Network(OutputArgs),
    /// Where compute and funds are needed now; code, environments, community; key links.
    Contribute(OutputArgs),
    /// Serve the six answers as MCP tools over stdio (for agents) until stdin closes.
    /// Logs go to stderr; stdout carries only the protocol.
    Mcp,
}

/// `--output`.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Output format: aligned text, or JSON with the schema in schema/api-v1.json.
    #[arg(long = "output", short = 'o', value_enum, default_value = "table")]
    pub output: Output,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Aligned text for people.
    Table,
    /// JSON (`schema/api-v1.json`).
    Json,
}

impl Command {
    /// The question asked; `None` for the MCP server, which answers all of them.
    pub fn view(&self) -> Option<View> {
        Some(match self {
            Command::Runs(_) => View::Runs,
            Command::Run { .. } => View::Run,
            Command::Checkpoints { .. } => View::Checkpoints,
            Command::Pool(_) => View::Pool,
            Command::Network(_) => View::Network,
            Command::Contribute(_) => View::Contribute,
            Command::Mcp => return None,
        })
    }

    /// The output format asked for (the MCP server has none).
    pub fn output(&self) -> Output {
        match self {
            Command::Runs(o) | Command::Pool(o) | Command::Network(o) | Command::Contribute(o) => {
                o.output
            }
            Command::Run { output, .. } | Command::Checkpoints { output, .. } => output.output,
            Command::Mcp => Output::Json,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::huggingface::Token;
    use std::time::Duration;

    #[test]
    fn defaults_watch_the_public_endpoints() {
        let cli = Cli::try_parse_validated(["psyche-exporter"]).unwrap();
        assert_eq!(cli.web.listen_address.to_string(), "0.0.0.0:10580");
        assert_eq!(cli.web.telemetry_path, "/metrics");
        assert_eq!(cli.collectors.solana.interval, Duration::from_secs(15));
        assert_eq!(cli.collectors.solana.timeout, Duration::from_secs(5));
        let urls: Vec<_> = cli
            .collectors
            .watched_rpc_urls()
            .iter()
            .map(|u| u.endpoint().to_owned())
            .collect();
        assert_eq!(
            urls,
            [
                "https://api.devnet.solana.com",
                "https://api.mainnet-beta.solana.com",
                "https://api.devnet.solana.com",
                "https://api.devnet.solana.com"
            ]
        );
    }

    #[test]
    fn disabled_collectors_urls_are_not_watched() {
        let cli = Cli::try_parse_validated([
            "x",
            "--no-collector.pool",
            "--no-collector.treasurer",
            "--solana.rpc-url=http://127.0.0.1:1/k",
        ])
        .unwrap();
        let urls: Vec<_> = cli
            .collectors
            .watched_rpc_urls()
            .iter()
            .map(|u| u.endpoint().to_owned())
            .collect();
        assert_eq!(
            urls,
            [
                "http://127.0.0.1:1",
                "https://api.devnet.solana.com",
                "https://api.devnet.solana.com"
            ]
        );
    }

    #[test]
    fn pool_and_treasurer_defaults_and_repeats() {
        let cli = Cli::try_parse_validated(["x"]).unwrap();
        assert_eq!(
            cli.collectors.pool.program_id.to_string(),
            crate::collectors::pool::PROGRAM_MAINNET
        );
        assert_eq!(cli.collectors.pool.indices, [0]);
        assert_eq!(cli.collectors.pool.interval, Duration::from_secs(60));
        assert_eq!(
            cli.collectors.treasurer.program_id.to_string(),
            crate::collectors::treasurer::PROGRAM
        );
        assert_eq!(cli.collectors.treasurer.interval, Duration::from_secs(60));
        assert_eq!(
            cli.collectors.watched_rpc_urls()[2].endpoint(),
            "https://api.devnet.solana.com",
            "the treasurer reads the coordinator's RPC by default"
        );
        let cli =
            Cli::try_parse_validated(["x", "--pool.index=0", "--pool.index=3", "--pool.index=7"])
                .unwrap();
        assert_eq!(cli.collectors.pool.indices, [0, 3, 7]);
    }

    #[test]
    fn hf_defaults_and_token_file() {
        let cli = Cli::try_parse_validated(["x"]).unwrap();
        let h = &cli.collectors.huggingface;
        assert_eq!(h.endpoint.as_str(), "https://huggingface.co/");
        assert_eq!(h.authors, ["PsycheFoundation"]);
        assert_eq!(h.interval, Duration::from_secs(300));
        assert!(h.token.is_none());
        let path = std::env::temp_dir().join(format!("hf-token-{}", std::process::id()));
        std::fs::write(&path, "hf_abcSECRET\n").unwrap();
        let cli = Cli::try_parse_validated([
            "x".to_owned(),
            format!("--hf.token-file={}", path.display()),
            "--hf.author=a".to_owned(),
            "--hf.author=b".to_owned(),
        ])
        .unwrap();
        std::fs::remove_file(&path).unwrap();
        let h = &cli.collectors.huggingface;
        assert_eq!(h.token.as_ref().map(Token::expose), Some("hf_abcSECRET"));
        assert_eq!(h.authors, ["a", "b"]);
        let shown = format!("{cli:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("***"));
    }

    #[test]
    fn a_command_needs_the_collector_it_reads() {
        for (args, needs) in [
            (
                &["x", "--no-collector.coordinator", "runs"][..],
                "coordinator",
            ),
            (
                &["x", "run", "r", "--no-collector.coordinator"],
                "coordinator",
            ),
            (
                &["x", "--no-collector.huggingface", "checkpoints"],
                "huggingface",
            ),
            (&["x", "--no-collector.pool", "pool"], "pool"),
            (&["x", "--no-collector.solana", "network"], "solana"),
        ] {
            let err = Cli::try_parse_validated(args).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}");
            let text = err.to_string();
            assert!(
                text.contains(&format!("drop --no-collector.{needs}")),
                "{args:?}: {text}"
            );
        }
        // Collectors a view reads besides its first are optional.
        assert!(Cli::try_parse_validated(["x", "--no-collector.treasurer", "run", "r"]).is_ok());
        assert!(Cli::try_parse_validated(["x", "--no-collector.pool", "contribute"]).is_ok());
    }

    #[test]
    fn web_paths_do_not_collide() {
        let cli = Cli::try_parse_validated(["x"]).unwrap();
        assert_eq!(cli.web.mcp(), Some("/mcp"));
        let cli =
            Cli::try_parse_validated(["x", "--no-web.mcp", "--web.telemetry-path=/mcp"]).unwrap();
        assert_eq!(cli.web.mcp(), None);
        for args in [
            &["x", "--web.mcp-path=/metrics"][..],
            &["x", "--web.telemetry-path=/mcp"],
            &["x", "--web.mcp-path=/healthz"],
            &["x", "--web.mcp-path=/api/v1/mcp"],
            &["x", "--web.telemetry-path=/readyz"],
            &["x", "--web.mcp-path=mcp"],
        ] {
            let err = Cli::try_parse_validated(args).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
        assert!(Cli::try_parse_validated(["x", "--web.mcp-path=/agents"]).is_ok());
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for args in [
            &["x", "--solana.interval=soon"][..],
            &["x", "--web.listen-address=nowhere"],
            &["x", "--solana.rpc-url=ftp://a"],
            &["x", "--solana.timeout=20s"],
            &["x", "--web.telemetry-path=metrics"],
            &["x", "--log.format=xml"],
            &["x", "--hf.endpoint=ftp://hub"],
            &["x", "--hf.endpoint=https://user:pw@hub"],
            &["x", "--hf.timeout=5m"],
            &["x", "--hf.interval=0s"],
            &["x", "--hf.author=a/b"],
            &["x", "--hf.token-file=/nonexistent/token"],
            &["x", "--pool.index=-1"],
            &["x", "--pool.program-id=nope"],
            &["x", "--pool.timeout=60s"],
            &["x", "--treasurer.interval=0s"],
            &["x", "--treasurer.program-id=0x12"],
        ] {
            let err = Cli::try_parse_validated(args).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
    }
}
