//! Command-line flags. Every flag has an environment variable
//! `PSYCHE_EXPORTER_<FLAG>` (dots and dashes as underscores, upper case).
//! Flags are grouped by collector, dotted as Prometheus exporters do.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, ValueEnum};

use std::str::FromStr;

use crate::collectors::coordinator::{PROGRAM_LEGACY, PROGRAM_V1, ProgramId};
use crate::collectors::huggingface::{DEFAULT_AUTHOR, DEFAULT_ENDPOINT, Token};
use crate::rpc::RpcUrl;

/// Prometheus exporter for the Psyche decentralized training network: training
/// runs and RPC health from Solana, checkpoints from HuggingFace.
#[derive(Debug, Clone, Parser)]
#[command(name = "psyche-exporter", version, about, max_term_width = 100)]
pub struct Cli {
    /// Web server.
    #[command(flatten, next_help_heading = "Web")]
    pub web: WebArgs,
    /// Logging.
    #[command(flatten, next_help_heading = "Logging")]
    pub log: LogArgs,
    /// Solana RPC health collector.
    #[command(
        flatten,
        next_help_heading = "Solana RPC health (collector \"solana\")"
    )]
    pub solana: SolanaArgs,
    /// Coordinator collector.
    #[command(
        flatten,
        next_help_heading = "Training runs (collector \"coordinator\")"
    )]
    pub coordinator: CoordinatorArgs,
    /// Mining pool collector.
    #[command(flatten, next_help_heading = "Mining pool (collector \"pool\")")]
    pub pool: PoolArgs,
    /// Treasurer collector.
    #[command(flatten, next_help_heading = "Treasurer (collector \"treasurer\")")]
    pub treasurer: TreasurerArgs,
    /// HuggingFace collector.
    #[command(flatten, next_help_heading = "HuggingFace (collector \"huggingface\")")]
    pub huggingface: HuggingFaceArgs,
    /// Answer one question and exit instead of serving.
    #[command(subcommand)]
    pub command: Option<crate::commands::Command>,
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
    /// Path under which to expose metrics.
    #[arg(id = "web.telemetry-path", long = "web.telemetry-path", env = "PSYCHE_EXPORTER_WEB_TELEMETRY_PATH", default_value = "/metrics", value_parser = parse_path)]
    pub telemetry_path: String,
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

/// Solana RPC health collector flags.
#[derive(Debug, Clone, Args)]
pub struct SolanaArgs {
    /// Disable the Solana RPC health collector.
    #[arg(
        id = "no-collector.solana",
        long = "no-collector.solana",
        env = "PSYCHE_EXPORTER_NO_COLLECTOR_SOLANA"
    )]
    pub disabled: bool,
    /// Extra RPC endpoint to watch (repeatable; the environment variable takes a
    /// comma-separated list). The RPC URLs of the other enabled collectors are
    /// always watched. Only scheme://host[:port] is ever shown.
    #[arg(id = "solana.rpc-url", long = "solana.rpc-url", env = "PSYCHE_EXPORTER_SOLANA_RPC_URL", value_delimiter = ',', hide_env_values = true, value_parser = RpcUrlParser)]
    pub rpc_urls: Vec<RpcUrl>,
    /// How often to poll the endpoints.
    #[arg(id = "solana.interval", long = "solana.interval", env = "PSYCHE_EXPORTER_SOLANA_INTERVAL", default_value = "15s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Deadline for one endpoint's probe (must be shorter than the interval).
    #[arg(id = "solana.timeout", long = "solana.timeout", env = "PSYCHE_EXPORTER_SOLANA_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// How long to keep serving an endpoint's last readings while it does not
    /// answer [default: 3 × interval].
    #[arg(id = "solana.max-age", long = "solana.max-age", env = "PSYCHE_EXPORTER_SOLANA_MAX_AGE", value_parser = parse_duration)]
    pub max_age: Option<Duration>,
}

/// Coordinator (training runs) collector flags.
#[derive(Debug, Clone, Args)]
pub struct CoordinatorArgs {
    /// Disable the training-runs collector.
    #[arg(
        id = "no-collector.coordinator",
        long = "no-collector.coordinator",
        env = "PSYCHE_EXPORTER_NO_COLLECTOR_COORDINATOR"
    )]
    pub disabled: bool,
    /// Solana RPC URL of the cluster the coordinator program runs on.
    #[arg(id = "coordinator.rpc-url", long = "coordinator.rpc-url", env = "PSYCHE_EXPORTER_COORDINATOR_RPC_URL", default_value = "https://api.devnet.solana.com", hide_env_values = true, value_parser = RpcUrlParser)]
    pub rpc_url: RpcUrl,
    /// Coordinator program to watch (repeatable). Default: the current deployment and
    /// the previous one (legacy v0 accounts).
    #[arg(id = "coordinator.program-id", long = "coordinator.program-id", env = "PSYCHE_EXPORTER_COORDINATOR_PROGRAM_ID", value_delimiter = ',', default_values_t = [ProgramId::from_str(PROGRAM_V1).unwrap_or_else(|_| unreachable!()), ProgramId::from_str(PROGRAM_LEGACY).unwrap_or_else(|_| unreachable!())])]
    pub program_ids: Vec<ProgramId>,
    /// Export only runs whose id fully matches one of these regular expressions
    /// (repeatable). Default: every run.
    #[arg(id = "coordinator.run-id", long = "coordinator.run-id", env = "PSYCHE_EXPORTER_COORDINATOR_RUN_ID", value_delimiter = ',', value_parser = parse_anchored_regex)]
    pub run_ids: Vec<regex::Regex>,
    /// How often to read every run's state.
    #[arg(id = "coordinator.interval", long = "coordinator.interval", env = "PSYCHE_EXPORTER_COORDINATOR_INTERVAL", default_value = "30s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Deadline for one poll (must be shorter than the interval).
    #[arg(id = "coordinator.timeout", long = "coordinator.timeout", env = "PSYCHE_EXPORTER_COORDINATOR_TIMEOUT", default_value = "20s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// How often to read the client lists (clients by health, pending joiners, reward
    /// points); a slower tier, since they are the bulk of an account.
    #[arg(id = "coordinator.detail-interval", long = "coordinator.detail-interval", env = "PSYCHE_EXPORTER_COORDINATOR_DETAIL_INTERVAL", default_value = "5m", value_parser = parse_duration)]
    pub detail_interval: Duration,
    /// How long to keep serving the last good runs when polls fail [default: 3 × interval].
    #[arg(id = "coordinator.max-age", long = "coordinator.max-age", env = "PSYCHE_EXPORTER_COORDINATOR_MAX_AGE", value_parser = parse_duration)]
    pub max_age: Option<Duration>,
}

/// Mining pool collector flags.
#[derive(Debug, Clone, Args)]
pub struct PoolArgs {
    /// Disable the mining-pool collector.
    #[arg(
        id = "no-collector.pool",
        long = "no-collector.pool",
        env = "PSYCHE_EXPORTER_NO_COLLECTOR_POOL"
    )]
    pub disabled: bool,
    /// Solana RPC URL of the cluster the mining pool program runs on.
    #[arg(id = "pool.rpc-url", long = "pool.rpc-url", env = "PSYCHE_EXPORTER_POOL_RPC_URL", default_value = "https://api.mainnet-beta.solana.com", hide_env_values = true, value_parser = RpcUrlParser)]
    pub rpc_url: RpcUrl,
    /// Mining-pool program (default: the mainnet deployment).
    #[arg(id = "pool.program-id", long = "pool.program-id", env = "PSYCHE_EXPORTER_POOL_PROGRAM_ID", default_value = crate::collectors::pool::PROGRAM_MAINNET)]
    pub program_id: ProgramId,
    /// Index of a pool to watch (repeatable; the Pool PDA seed). The website shows pool 0.
    #[arg(id = "pool.index", long = "pool.index", env = "PSYCHE_EXPORTER_POOL_INDEX", value_delimiter = ',', default_values_t = [0u64])]
    pub indices: Vec<u64>,
    /// How often to read the pools, their vaults and the lender count.
    #[arg(id = "pool.interval", long = "pool.interval", env = "PSYCHE_EXPORTER_POOL_INTERVAL", default_value = "60s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Deadline for one poll (must be shorter than the interval).
    #[arg(id = "pool.timeout", long = "pool.timeout", env = "PSYCHE_EXPORTER_POOL_TIMEOUT", default_value = "20s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// How long to keep serving the last good pools when polls fail [default: 3 × interval].
    #[arg(id = "pool.max-age", long = "pool.max-age", env = "PSYCHE_EXPORTER_POOL_MAX_AGE", value_parser = parse_duration)]
    pub max_age: Option<Duration>,
}

/// Treasurer collector flags.
#[derive(Debug, Clone, Args)]
pub struct TreasurerArgs {
    /// Disable the treasurer collector.
    #[arg(
        id = "no-collector.treasurer",
        long = "no-collector.treasurer",
        env = "PSYCHE_EXPORTER_NO_COLLECTOR_TREASURER"
    )]
    pub disabled: bool,
    /// Solana RPC URL of the treasurer program [default: --coordinator.rpc-url].
    #[arg(id = "treasurer.rpc-url", long = "treasurer.rpc-url", env = "PSYCHE_EXPORTER_TREASURER_RPC_URL", hide_env_values = true, value_parser = RpcUrlParser)]
    pub rpc_url: Option<RpcUrl>,
    /// Treasurer program.
    #[arg(id = "treasurer.program-id", long = "treasurer.program-id", env = "PSYCHE_EXPORTER_TREASURER_PROGRAM_ID", default_value = crate::collectors::treasurer::PROGRAM)]
    pub program_id: ProgramId,
    /// How often to read the treasuries (earned points come from the coordinator
    /// collector's latest reading).
    #[arg(id = "treasurer.interval", long = "treasurer.interval", env = "PSYCHE_EXPORTER_TREASURER_INTERVAL", default_value = "60s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Deadline for one poll (must be shorter than the interval).
    #[arg(id = "treasurer.timeout", long = "treasurer.timeout", env = "PSYCHE_EXPORTER_TREASURER_TIMEOUT", default_value = "20s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// How long to keep serving the last good treasuries when polls fail
    /// [default: 3 × interval].
    #[arg(id = "treasurer.max-age", long = "treasurer.max-age", env = "PSYCHE_EXPORTER_TREASURER_MAX_AGE", value_parser = parse_duration)]
    pub max_age: Option<Duration>,
}

/// HuggingFace collector flags.
#[derive(Debug, Clone, Args)]
pub struct HuggingFaceArgs {
    /// Disable the HuggingFace collector.
    #[arg(
        id = "no-collector.huggingface",
        long = "no-collector.huggingface",
        env = "PSYCHE_EXPORTER_NO_COLLECTOR_HUGGINGFACE"
    )]
    pub disabled: bool,
    /// Base URL of the HuggingFace Hub.
    #[arg(id = "hf.endpoint", long = "hf.endpoint", env = "PSYCHE_EXPORTER_HF_ENDPOINT", default_value = DEFAULT_ENDPOINT, value_parser = parse_hf_endpoint)]
    pub endpoint: url::Url,
    /// Author (user or organisation) whose models to watch (repeatable). The repos the
    /// runs' on-chain checkpoints name are always watched too.
    #[arg(id = "hf.author", long = "hf.author", env = "PSYCHE_EXPORTER_HF_AUTHOR", value_delimiter = ',', default_values_t = [DEFAULT_AUTHOR.to_owned()], value_parser = parse_author)]
    pub authors: Vec<String>,
    /// File holding a HuggingFace access token, sent as a Bearer token (raises the rate
    /// limit, reaches private repos). Without it the HF_TOKEN environment variable is
    /// used when set. The token is never logged or shown.
    #[arg(id = "hf.token-file", long = "hf.token-file", env = "PSYCHE_EXPORTER_HF_TOKEN_FILE", value_name = "FILE", value_parser = parse_token_file)]
    pub token: Option<Token>,
    /// How often to poll the Hub: one request per author page and per run-named repo of
    /// another author, plus the commits of repos whose sha changed.
    #[arg(id = "hf.interval", long = "hf.interval", env = "PSYCHE_EXPORTER_HF_INTERVAL", default_value = "5m", value_parser = parse_duration)]
    pub interval: Duration,
    /// Deadline for one request to the Hub (must be shorter than the interval); a whole
    /// poll gets half the remaining interval on top.
    #[arg(id = "hf.timeout", long = "hf.timeout", env = "PSYCHE_EXPORTER_HF_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// How long to keep serving a repo's last good values while it cannot be read
    /// [default: 3 × interval].
    #[arg(id = "hf.max-age", long = "hf.max-age", env = "PSYCHE_EXPORTER_HF_MAX_AGE", value_parser = parse_duration)]
    pub max_age: Option<Duration>,
}

impl Cli {
    /// Checks clap cannot express; the message names the flags involved.
    pub fn validate(&self) -> Result<(), String> {
        let s = &self.solana;
        if !s.disabled {
            check_timing("solana", s.interval, s.timeout)?;
        }
        let c = &self.coordinator;
        if !c.disabled {
            check_timing("coordinator", c.interval, c.timeout)?;
            if c.program_ids.is_empty() {
                return Err("--coordinator.program-id: name at least one program".into());
            }
        }
        let p = &self.pool;
        if !p.disabled {
            check_timing("pool", p.interval, p.timeout)?;
            if p.indices.is_empty() {
                return Err("--pool.index: name at least one pool index".into());
            }
        }
        let t = &self.treasurer;
        if !t.disabled {
            check_timing("treasurer", t.interval, t.timeout)?;
        }
        let h = &self.huggingface;
        if !h.disabled {
            check_timing("hf", h.interval, h.timeout)?;
            if h.authors.is_empty() && self.coordinator.disabled {
                return Err(
                    "--hf.author: name at least one author, or enable the coordinator collector"
                        .into(),
                );
            }
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
            .and_then(|()| match &cli.command {
                Some(c) => crate::commands::validate(&cli, c),
                None => Ok(()),
            })
            .map_err(|msg| command.error(clap::error::ErrorKind::ValueValidation, msg))?;
        Ok(cli)
    }

    /// The RPC URLs the health collector watches: its own plus every URL an
    /// enabled collector uses.
    pub fn watched_rpc_urls(&self) -> Vec<RpcUrl> {
        let mut urls = self.solana.rpc_urls.clone();
        if !self.coordinator.disabled {
            urls.push(self.coordinator.rpc_url.clone());
        }
        if !self.pool.disabled {
            urls.push(self.pool.rpc_url.clone());
        }
        if !self.treasurer.disabled {
            urls.push(self.treasurer_rpc_url().clone());
        }
        urls
    }

    /// The treasurer's RPC URL (default: the coordinator's).
    pub fn treasurer_rpc_url(&self) -> &RpcUrl {
        self.treasurer
            .rpc_url
            .as_ref()
            .unwrap_or(&self.coordinator.rpc_url)
    }
}

/// The max age a collector uses: the flag, else three intervals.
pub fn max_age(flag: Option<Duration>, interval: Duration) -> Duration {
    flag.unwrap_or(interval * 3)
}

fn check_timing(collector: &str, interval: Duration, timeout: Duration) -> Result<(), String> {
    if interval.is_zero() {
        return Err(format!("--{collector}.interval must be more than zero"));
    }
    if timeout.is_zero() || timeout >= interval {
        return Err(format!(
            "--{collector}.timeout ({}) must be more than zero and shorter than --{collector}.interval ({})",
            humantime::format_duration(timeout),
            humantime::format_duration(interval)
        ));
    }
    Ok(())
}

/// Parses an [`RpcUrl`] without ever echoing the value: clap's own errors
/// quote the input, and an RPC URL may carry an API key.
#[derive(Debug, Clone, Copy)]
pub struct RpcUrlParser;

impl clap::builder::TypedValueParser for RpcUrlParser {
    type Value = RpcUrl;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<RpcUrl, clap::Error> {
        let name = arg.map_or_else(|| "URL".to_owned(), |a| format!("--{}", a.get_id()));
        let fail = |why: &str| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid value for '{name}' (value not shown, it may hold a key): {why}\n"),
            )
        };
        let text = value.to_str().ok_or_else(|| fail("not UTF-8"))?;
        text.parse().map_err(|e: String| fail(&e))
    }
}

fn parse_hf_endpoint(s: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(s).map_err(|e| format!("not a valid URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("must be an http or https URL with a host".into());
    }
    if url.query().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a query or credentials (use --hf.token-file)".into());
    }
    Ok(url)
}

/// A HuggingFace user or organisation name.
fn parse_author(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 96
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    ok.then(|| s.to_owned())
        .ok_or_else(|| "not a HuggingFace user or organisation name".into())
}

fn parse_token_file(s: &str) -> Result<Token, String> {
    Token::from_file(std::path::Path::new(s))
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (expected e.g. 500ms, 15s, 5m)"))
}

/// A regular expression matched against the whole value, as Prometheus does.
fn parse_anchored_regex(s: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(&format!("^(?:{s})$"))
        .map_err(|e| format!("not a valid regular expression: {e}"))
}

fn parse_path(s: &str) -> Result<String, String> {
    if !s.starts_with('/') || s.len() < 2 {
        return Err("must start with / and name a path, e.g. /metrics".into());
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_watch_the_public_endpoints() {
        let cli = Cli::try_parse_validated(["psyche-exporter"]).unwrap();
        assert_eq!(cli.web.listen_address.to_string(), "0.0.0.0:10580");
        assert_eq!(cli.web.telemetry_path, "/metrics");
        assert_eq!(cli.solana.interval, Duration::from_secs(15));
        assert_eq!(cli.solana.timeout, Duration::from_secs(5));
        let urls: Vec<_> = cli
            .watched_rpc_urls()
            .iter()
            .map(|u| u.endpoint().to_owned())
            .collect();
        assert_eq!(
            urls,
            [
                "https://api.devnet.solana.com",
                "https://api.mainnet-beta.solana.com",
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
            .watched_rpc_urls()
            .iter()
            .map(|u| u.endpoint().to_owned())
            .collect();
        assert_eq!(
            urls,
            ["http://127.0.0.1:1", "https://api.devnet.solana.com"]
        );
    }

    #[test]
    fn pool_and_treasurer_defaults_and_repeats() {
        let cli = Cli::try_parse_validated(["x"]).unwrap();
        assert_eq!(
            cli.pool.program_id.to_string(),
            crate::collectors::pool::PROGRAM_MAINNET
        );
        assert_eq!(cli.pool.indices, [0]);
        assert_eq!(cli.pool.interval, Duration::from_secs(60));
        assert_eq!(
            cli.treasurer.program_id.to_string(),
            crate::collectors::treasurer::PROGRAM
        );
        assert_eq!(cli.treasurer.interval, Duration::from_secs(60));
        assert_eq!(
            cli.treasurer_rpc_url().endpoint(),
            "https://api.devnet.solana.com"
        );
        let cli =
            Cli::try_parse_validated(["x", "--pool.index=0", "--pool.index=3", "--pool.index=7"])
                .unwrap();
        assert_eq!(cli.pool.indices, [0, 3, 7]);
    }

    #[test]
    fn hf_defaults_and_token_file() {
        let cli = Cli::try_parse_validated(["x"]).unwrap();
        let h = &cli.huggingface;
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
        let h = &cli.huggingface;
        assert_eq!(h.token.as_ref().map(Token::expose), Some("hf_abcSECRET"));
        assert_eq!(h.authors, ["a", "b"]);
        let shown = format!("{cli:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("***"));
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
