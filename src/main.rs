//! The `lyt` command line: `serve` runs the relay; `keys` and `cert` are the organisation's
//! key tools; `counsellor hash-password` makes account hashes for a config file.

use std::io::Read as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use lyt::{Config, Server, demo};

/// lyt: relay for anonymous, end-to-end encrypted counselling chats.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the relay. With no config file: the embedded demo (in-memory, demo accounts).
    Serve(ServeArgs),
    /// Create the organisation's keys (org root, office and phone desk recipient keys).
    #[command(subcommand)]
    Keys(lyt::keytool::KeysCommand),
    /// Issue and inspect certificates (counsellor identities, offices).
    #[command(subcommand)]
    Cert(lyt::keytool::CertCommand),
    /// Counsellor account tools.
    #[command(subcommand)]
    Counsellor(CounsellorCommand),
    /// Anonymous statistics for reporting.
    #[command(subcommand)]
    Stats(StatsCommand),
    /// Brobygger referrals: an office fetches and opens its referrals; tokens for offices.
    #[command(subcommand)]
    Referral(ReferralCommand),
    /// A deployment check: a synthetic visitor chats end to end with a bot counsellor
    /// (`lyt counsellor bot`) and leaves. Never against counsellors on shift: it takes a
    /// chat slot like any visitor.
    Probe(ProbeArgs),
    /// Exit 0 when a node's internal listener answers `/readyz` with 200, else 1: the
    /// container health check (the runtime image has no shell or curl).
    Health {
        /// The readiness URL on the internal listener.
        #[arg(long, default_value = "http://127.0.0.1:9090/readyz")]
        url: String,
    },
}

#[derive(clap::Args, Debug)]
struct ProbeArgs {
    /// The relay's public base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// The Origin to send (an allowed origin; default: the server URL).
    #[arg(long)]
    origin: Option<String>,
    /// The organisation's root public key (base64url), as pinned in the widget.
    #[arg(long, env = "LYT_ORG_ROOT", allow_hyphen_values = true)]
    org_root: String,
    /// The queue to join.
    #[arg(long, default_value = "da/exit")]
    queue: String,
    /// Seconds the whole probe may take.
    #[arg(long, default_value_t = 60)]
    timeout_s: u64,
}

#[derive(Subcommand, Debug)]
enum StatsCommand {
    /// Write CSV of daily counts (contacts by channel, language, topic and outcome; joins,
    /// abandons; referrals per office) from the relay's data directory.
    Export {
        /// The relay's data directory (`data_dir`; the demo directory in demo mode).
        #[arg(long, default_value = "lyt-demo")]
        data_dir: PathBuf,
        /// First day, YYYY-MM-DD (local).
        #[arg(long)]
        from: String,
        /// Last day, YYYY-MM-DD (local), inclusive.
        #[arg(long)]
        to: String,
        /// For readers outside the organisation: counts below 3 are written `<3`.
        #[arg(long)]
        public: bool,
    },
}

#[derive(Subcommand, Debug)]
enum ReferralCommand {
    /// Fetch this office's referrals, open and verify them locally, write each as
    /// `<out>/<code>.json`, and acknowledge it (which deletes it on the server). A referral
    /// that fails a check is reported and left on the server.
    Pull {
        /// This office's id (as in its office certificate).
        #[arg(long)]
        office: String,
        /// This office's recipient key file (from `lyt keys office-init`).
        #[arg(long)]
        key: PathBuf,
        /// The relay's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        server: String,
        /// The office's API token (better: the environment variable).
        #[arg(
            long,
            env = "LYT_OFFICE_TOKEN",
            hide_env_values = true,
            allow_hyphen_values = true
        )]
        token: String,
        /// The organisation's root public key (base64url), as pinned everywhere.
        #[arg(long, env = "LYT_ORG_ROOT", allow_hyphen_values = true)]
        org_root: String,
        /// Where to write the opened referrals.
        #[arg(long, default_value = "referrals")]
        out: PathBuf,
    },
    /// Make a new API token for an office: prints the token (give it to the office) and the
    /// line for the relay's config (only the token's hash).
    Token {
        /// The office's id.
        #[arg(long)]
        office: String,
    },
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// TOML config file (then demo mode is off unless --demo).
    #[arg(long, env = "LYT_CONFIG")]
    config: Option<PathBuf>,
    /// Public listener (overrides `listen` in the file and LYT_LISTEN); port 0 picks one.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Internal listener for /metrics, /healthz, /readyz; port 0 picks one.
    #[arg(long)]
    internal: Option<SocketAddr>,
    /// Demo mode even with a config file: demo accounts and keys from the demo directory.
    #[arg(long)]
    demo: bool,
    /// Print the effective configuration (secrets redacted) and exit.
    #[arg(long)]
    print_config: bool,
    /// Check the configuration as a start would (settings, org root, office certificates,
    /// opening hours) without listening, print a summary and exit: 0 when it would start.
    #[arg(long, conflicts_with = "print_config")]
    check: bool,
    /// In demo mode, do not start the demo counsellor bot (which answers chats as "Ali").
    #[arg(long)]
    no_demo_bot: bool,
    /// Shared state in Redis, to run as one of many nodes behind a load balancer
    /// (`redis://[user:password@]host:port`; docs/state.md). Never printed.
    #[arg(
        long,
        env = "LYT_REDIS__URL",
        value_name = "URL",
        hide_env_values = true
    )]
    redis: Option<String>,
}

#[derive(Subcommand, Debug)]
enum CounsellorCommand {
    /// Read a password on standard input and print its argon2id hash for `password_hash`.
    HashPassword,
    /// Run a demo counsellor bot against a demo-mode relay: it accepts every chat and answers
    /// with a fixed demo text (for trying the widget before the console exists).
    Bot {
        /// The relay's public base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        server: String,
        /// The relay's demo directory.
        #[arg(long, default_value = "lyt-demo")]
        demo_dir: PathBuf,
        /// The demo account to act as.
        #[arg(long, default_value = "ali")]
        username: String,
        /// Concurrent chats.
        #[arg(long, default_value_t = 4)]
        capacity: u32,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One clear line (with its causes), never a backtrace, for an operator to act on.
            #[allow(clippy::print_stderr, reason = "the error is the command's output")]
            {
                eprintln!("error: {e:#}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let directives = std::env::var("LYT_LOG").unwrap_or_else(|_| "info".into());
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    lyt::logging::init(&directives, std::io::stderr, ansi).context("cannot set up logging")?;
    match cli.command {
        Command::Serve(args) => {
            let runtime = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
            runtime.block_on(serve(args))
        }
        Command::Keys(cmd) => lyt::keytool::run_keys(cmd),
        Command::Cert(cmd) => lyt::keytool::run_cert(cmd),
        Command::Counsellor(CounsellorCommand::HashPassword) => hash_password(),
        Command::Referral(ReferralCommand::Token { office }) => referral_token(&office),
        Command::Stats(StatsCommand::Export {
            data_dir,
            from,
            to,
            public,
        }) => {
            let csv = lyt::stats::export_csv(&data_dir, &from, &to, public)?;
            std::io::Write::write_all(&mut std::io::stdout(), csv.as_bytes())
                .context("cannot write the CSV")
        }
        Command::Referral(ReferralCommand::Pull {
            office,
            key,
            server,
            token,
            org_root,
            out,
        }) => {
            let text = zeroize::Zeroizing::new(
                std::fs::read_to_string(&key)
                    .with_context(|| format!("cannot read {}", key.display()))?,
            );
            let secret = lyt::crypto::decode_key_file(&text, lyt::crypto::KeyKind::X25519Secret)
                .with_context(|| format!("{} is not an office recipient key", key.display()))?;
            let key = lyt::crypto::StaticKey::from_bytes(&secret);
            let root: [u8; 32] = lyt::crypto::b64_decode(org_root.trim(), "org root")
                .ok()
                .and_then(|b| b.try_into().ok())
                .context("--org-root must be the 32-byte org root public key in base64url")?;
            let runtime = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
            let report = runtime.block_on(lyt::client::office::pull(
                &lyt::client::office::PullOptions {
                    server: &server,
                    office_id: &office,
                    key: &key,
                    token: &token,
                    org_root: &root,
                    out_dir: &out,
                },
            ))?;
            print_pull_report(&report);
            anyhow::ensure!(
                report.refused.is_empty(),
                "{} referral(s) refused and left on the server",
                report.refused.len()
            );
            Ok(())
        }
        Command::Probe(args) => probe(args),
        Command::Health { url } => health(&url),
        Command::Counsellor(CounsellorCommand::Bot {
            server,
            demo_dir,
            username,
            capacity,
        }) => {
            let runtime = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
            let opts = lyt::client::bot::BotOptions {
                server,
                demo_dir,
                username,
                capacity,
            };
            runtime
                .block_on(lyt::client::bot::run(&opts, print_bot_event))
                .map_err(Into::into)
        }
    }
}

#[allow(clippy::print_stdout, reason = "the answer is the command's output")]
fn health(url: &str) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
    let status = runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()?;
        client.get(url).send().await.map(|r| r.status())
    });
    let status = status.with_context(|| format!("{url} does not answer"))?;
    anyhow::ensure!(status.is_success(), "{url} answers {status}");
    println!("ready");
    Ok(())
}

#[allow(clippy::print_stdout, reason = "the report is the command's output")]
fn probe(args: ProbeArgs) -> anyhow::Result<()> {
    let org_root: [u8; 32] = lyt::crypto::b64_decode(args.org_root.trim(), "org root")
        .ok()
        .and_then(|b| b.try_into().ok())
        .context("--org-root must be the 32-byte org root public key in base64url")?;
    let queue = args
        .queue
        .parse()
        .map_err(|_| anyhow::anyhow!("--queue must be a queue id like da/exit"))?;
    let server = args.server.trim_end_matches('/').to_owned();
    let opts = lyt::client::probe::ProbeOptions {
        origin: args.origin.unwrap_or_else(|| server.clone()),
        server,
        org_root,
        queue,
        timeout: std::time::Duration::from_secs(args.timeout_s.max(1)),
    };
    let started = std::time::Instant::now();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
    let report = runtime
        .block_on(lyt::client::probe::run(&opts))
        .context("probe failed")?;
    println!(
        "probe OK: chatted end to end with {} (certificate verified, safety code {}), ended {}, in {} ms",
        report.alias,
        report.safety_code,
        report.ended,
        started.elapsed().as_millis()
    );
    Ok(())
}

#[allow(clippy::print_stdout, reason = "the report is the command's output")]
fn print_pull_report(report: &lyt::client::office::PullReport) {
    for (code, path) in &report.saved {
        println!("saved {code} → {}", path.display());
    }
    for (code, why) in &report.refused {
        println!("REFUSED {code}: {why}");
    }
    if report.saved.is_empty() && report.refused.is_empty() {
        println!("no referrals waiting");
    }
}

#[allow(clippy::print_stdout, reason = "the token is the command's output")]
fn referral_token(office: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        !office.is_empty() && office.len() <= 64 && !office.contains(['"', '\\', '\n']),
        "--office must be the office id of its certificate"
    );
    let token = lyt::crypto::b64_encode(&rand::random::<[u8; 32]>());
    println!("token for the office (give it to them; shown once): {token}");
    println!("relay config line:");
    println!(
        "referrals.office_tokens.\"{office}\" = \"{}\"",
        lyt::http::office::token_hash(&token)
    );
    Ok(())
}

#[allow(clippy::print_stdout, reason = "the hash is the command's output")]
fn hash_password() -> anyhow::Result<()> {
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .context("cannot read the password")?;
    let password = zeroize::Zeroizing::new(password.trim_end_matches(['\r', '\n']).to_owned());
    anyhow::ensure!(
        password.chars().count() >= 12,
        "use a password of at least 12 characters"
    );
    let hash = lyt::auth::hash_password(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{hash}");
    Ok(())
}

/// Raises this process's soft limit of open files to its hard limit, and says so: every
/// connection is a file, and the soft limit many systems start a service with (1,024) is
/// far below what one node holds (the hard limit is the operator's ceiling, e.g. systemd's
/// `LimitNOFILE`; lyt never asks for more).
fn raise_open_files_limit() {
    let before = rlimit::getrlimit(rlimit::Resource::NOFILE);
    match (before, rlimit::increase_nofile_limit(u64::MAX)) {
        (Ok((soft, _)), Ok(now)) if now > soft => {
            tracing::info!(
                from = soft,
                to = now,
                "raised the open-files limit to the hard limit (a connection is a file)"
            );
        }
        (_, Ok(now)) => tracing::info!(limit = now, "open-files limit (a connection is a file)"),
        (_, Err(e)) => tracing::warn!(error = %e, "could not raise the open-files limit"),
    }
}

#[allow(
    clippy::print_stdout,
    reason = "addresses and demo credentials are for the operator"
)]
async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let loaded = Config::load(args.config.as_deref(), std::env::vars())?;
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    let mut config = loaded.config;
    let demo_env = std::env::var("LYT_DEMO").ok();
    config.demo =
        args.demo || (args.config.is_none() && !matches!(demo_env.as_deref(), Some("false" | "0")));
    if let Some(a) = args.listen {
        config.listen = a;
    }
    if let Some(url) = args.redis {
        config.redis.url = Some(lyt::config::Secret::new(url));
    }
    if let Some(a) = args.internal {
        config.internal = a;
    }
    let demo = if config.demo {
        Some(demo::provision(&mut config)?)
    } else {
        None
    };
    if args.print_config {
        println!("{}", config.redacted_toml());
        return Ok(());
    }
    if args.check {
        let r = lyt::server::check(&config)?;
        println!(
            "configuration OK: {} queue(s), {} account(s), {} office(s), org root {}; public {}, internal {}",
            r.queues,
            r.accounts,
            r.offices,
            if r.org_root { "pinned" } else { "not set" },
            config.listen,
            config.internal
        );
        return Ok(());
    }
    if demo.is_some() && !config.listen.ip().is_loopback() {
        tracing::warn!(
            "DEMO mode on a non-loopback address: demo accounts are reachable from the network"
        );
    }
    if config.accounts.is_empty() {
        tracing::warn!("no accounts configured: nobody can log in as a counsellor");
    }
    let scheme = if config.tls.enabled() {
        "https"
    } else {
        "http"
    };
    raise_open_files_limit();
    let server = Server::start(config).await?;
    // Listen for SIGTERM before saying where we listen: a supervisor that stops us as soon
    // as we are up must get a clean shutdown, not the default action of the signal.
    let stop = shutdown_signal();
    println!(
        "lyt listening on {scheme}://{} (public)",
        server.public_addr
    );
    println!(
        "lyt internal on http://{} (/metrics /healthz /readyz)",
        server.internal_addr
    );
    if let Some(demo) = &demo {
        print_demo(demo, &server, scheme);
        if scheme == "https" {
            // The bot's client speaks plain HTTP and WebSocket only.
            println!("DEMO bot not started: it does not speak TLS (unset [tls] to try the demo)");
        } else if !args.no_demo_bot {
            start_demo_bot(demo, &server);
        }
    }
    stop.await;
    tracing::info!("shutting down");
    server.shutdown();
    server.wait().await;
    tracing::info!("stopped");
    Ok(())
}

#[allow(
    clippy::print_stdout,
    reason = "demo credentials are the point of demo mode"
)]
fn print_demo(demo: &demo::Demo, server: &Server, scheme: &str) {
    println!();
    println!("==================== DEMO MODE — not for real use ====================");
    println!("DEMO accounts (from {}):", demo.dir.display());
    for a in &demo.accounts {
        println!(
            "  DEMO {:<10} {:<8} password: {}",
            a.role.as_str(),
            a.username,
            a.password
        );
    }
    println!(
        "DEMO org root public key: {} (fingerprint {})",
        lyt::crypto::b64_encode(&demo.org_root_pub),
        lyt::crypto::fingerprint(&demo.org_root_pub)
    );
    println!(
        "DEMO identity keys and certificates: {}/<username>.id.key, .id.cert",
        demo.dir.display()
    );
    println!("DEMO allowed origins: {}", server.origins.join(" "));
    println!(
        "DEMO try it: open {scheme}://127.0.0.1:{}/demo — the demo bot answers as Ali (--no-demo-bot to turn it off)",
        server.public_addr.port()
    );
    println!("======================================================================");
}

/// Prints what the demo bot does (never message content), one line per event, flushed at
/// once so that a test driving the bot can read it.
#[allow(
    clippy::print_stdout,
    reason = "the bot's events are the command's output"
)]
fn print_bot_event(event: lyt::client::bot::BotEvent) {
    use lyt::client::bot::BotEvent;
    use std::io::Write as _;
    match event {
        BotEvent::OnDuty { alias } => println!("DEMO bot on duty as {alias}"),
        BotEvent::ChatStarted { conv, safety_code } => {
            println!("DEMO bot chat {conv} safety code {safety_code}")
        }
        BotEvent::ChatEnded { conv } => println!("DEMO bot chat {conv} ended"),
        BotEvent::ReferralOffered { conv } => println!("DEMO bot chat {conv} referral offered"),
        BotEvent::ReferralDeclined { conv } => {
            println!("DEMO bot chat {conv} referral declined, nothing sealed")
        }
        BotEvent::ReferralStored { conv } => {
            println!("DEMO bot chat {conv} referral stored, code sent")
        }
    }
    let _ = std::io::stdout().flush();
}

/// Runs the demo counsellor bot as "Ali" in this process, against this server over loopback,
/// so that a newcomer on `/demo` gets an answer. It stops with the server.
fn start_demo_bot(demo: &demo::Demo, server: &Server) {
    let addr = server.public_addr;
    let host = if addr.ip().is_unspecified() || addr.is_ipv4() && addr.ip().is_loopback() {
        format!("127.0.0.1:{}", addr.port())
    } else {
        addr.to_string()
    };
    let opts = lyt::client::bot::BotOptions {
        server: format!("http://{host}"),
        demo_dir: demo.dir.clone(),
        username: "ali".into(),
        capacity: 4,
    };
    let stop = server.shutdown_token();
    tokio::spawn(async move {
        tokio::select! {
            () = stop.cancelled() => {}
            result = lyt::client::bot::run(&opts, print_bot_event) => {
                if let Err(e) = result {
                    tracing::warn!(error = %e, "demo bot stopped");
                }
            }
        }
    });
}

/// Installs the Ctrl-C and SIGTERM handlers now (so a signal from now on is caught) and
/// returns the future that completes on either.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        shutdown_on(
            #[cfg(unix)]
            term,
        )
        .await;
    }
}

async fn shutdown_on(#[cfg(unix)] term: Option<tokio::signal::unix::Signal>) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async move {
        match term {
            Some(mut s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
