//! The `proctor` command: the server, and the tools of lab authors and admins.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Arc,
    time::Duration,
};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use proctor::{
    bench, prepare,
    capabilities::fixture::Fixture,
    config::{Config, DatabaseUrl},
    judging::offline::{check_with_fixture, offline_task},
    labs::Catalog,
    plugins::{Limits, PluginEngine, Registry, Status, Verdict, Visibility},
    runtime::{Runtime, docker::DockerRuntime, unavailable::Unavailable},
    server::{self, AppState},
    sessions::Sessions,
    store::Store,
    toolchain,
};

#[derive(Parser)]
#[command(
    name = "proctor",
    version,
    about = "Hands-on technical labs with sandboxed judges",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// With no command, `proctor` serves: these are `serve`'s options.
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Cmd {
    /// Start the server (the default).
    Serve(ServeArgs),
    /// Build and run judges.
    #[command(subcommand)]
    Judge(JudgeCmd),
    /// Work with labs.
    #[command(subcommand)]
    Lab(LabCmd),
    /// Measure the figures behind the performance budgets.
    #[command(subcommand)]
    Bench(BenchCmd),
    /// Log in to a server and keep an API token for the other commands.
    Login {
        #[command(flatten)]
        server: ServerArgs,
        /// The account's login.
        #[arg(long)]
        user: String,
    },
    /// Manage the judges and hint providers of a running server.
    #[command(subcommand)]
    Plugin(PluginCmd),
}

/// Which server, and as whom.
#[derive(Args)]
struct ServerArgs {
    /// The server's address.
    #[arg(long, env = "PROCTOR_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// An API token (default: the one `proctor login` kept for the server).
    #[arg(long, env = "PROCTOR_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

#[derive(Subcommand)]
enum PluginCmd {
    /// Upload a built component; it serves from the next check on.
    Push {
        /// The component (.wasm).
        file: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
        /// Load it without serving it.
        #[arg(long)]
        no_promote: bool,
    },
    /// List the plugins and their versions.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Serve the version that served before.
    Rollback {
        /// The plugin's name.
        name: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "PROCTOR_LISTEN")]
    listen: Option<SocketAddr>,
    /// Directory for the server's state.
    #[arg(long, env = "PROCTOR_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Directory of labs.
    #[arg(long, env = "PROCTOR_SCENARIOS_DIR")]
    scenarios_dir: Option<PathBuf>,
    /// Directory of built judge components to load at start.
    #[arg(long, env = "PROCTOR_JUDGES_DIR")]
    judges_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER:PASSWORD@HOST/DB
    /// (default: proctor.db in the data directory).
    #[arg(long, env = "PROCTOR_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Name of this server's objects on the engine (servers sharing an
    /// engine need different ones).
    #[arg(long, env = "PROCTOR_INSTANCE")]
    instance: Option<String>,
    /// Configuration file (default: ./proctor.toml when present).
    #[arg(long, env = "PROCTOR_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum LabCmd {
    /// Check lab definitions and report every problem (a lab directory, or
    /// a directory of labs; default `scenarios`).
    Validate {
        /// A lab directory or a directory of labs.
        dir: Option<PathBuf>,
    },
    /// List the valid labs.
    List {
        /// A directory of labs.
        #[arg(long, default_value = "scenarios")]
        dir: PathBuf,
    },
    /// Prove labs against real sessions: every check fails before solve.sh
    /// and passes after it (needs a Docker engine).
    Test {
        /// Lab ids.
        ids: Vec<String>,
        /// Every lab (KubeVirt labs are skipped).
        #[arg(long, conflicts_with = "ids")]
        all: bool,
        /// A directory of labs.
        #[arg(long, default_value = "scenarios")]
        dir: PathBuf,
        /// Directory of built judge components (from a checkout, the bundled
        /// judges are built into the default one first).
        #[arg(long, default_value = "target/judges")]
        judges_dir: PathBuf,
        /// Print the results as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Start a new lab: a scenario in scenarios/<id>/ and its judge crate in
    /// judges/<id>/, passing `proctor lab test <id>` as generated.
    New {
        /// The lab's id (lowercase letters, digits and `-`).
        id: String,
    },
    /// Convert a lab written for another platform into a Proctor lab.
    Import {
        #[command(subcommand)]
        from: ImportCmd,
    },
}

#[derive(Subcommand)]
enum ImportCmd {
    /// A Killercoda scenario (a directory with index.json), graded by the
    /// bundled script judge running each step's verify script.
    Killercoda {
        /// The scenario's directory.
        dir: PathBuf,
        /// Where labs live; the lab is written to <out>/<id>.
        #[arg(long, default_value = "scenarios")]
        out: PathBuf,
        /// The lab's id (default: from the directory's name).
        #[arg(long)]
        id: Option<String>,
        /// The image to run instead of the scenario's backend.
        #[arg(long)]
        image: Option<String>,
    },
}

#[derive(Subcommand)]
enum JudgeCmd {
    /// Compile judges in judges/ to components (all of them, or the named labs').
    Build {
        /// Lab ids (directories under judges/).
        labs: Vec<String>,
        /// Where to put the components.
        #[arg(long, default_value = "target/judges")]
        out: PathBuf,
    },
    /// Run a judge offline against recorded capability answers.
    Run {
        /// The judge component (.wasm).
        component: PathBuf,
        /// The task to check.
        #[arg(long)]
        task: String,
        /// Recorded capability answers (JSON).
        #[arg(long)]
        fixture: PathBuf,
        /// The lab id passed to the judge.
        #[arg(long, default_value = "offline")]
        lab: String,
        /// Print the verdict as JSON.
        #[arg(long)]
        json: bool,
        /// Limits for the call (a TOML file of `Limits` keys).
        #[arg(long)]
        limits: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Plugin call overhead: instantiate + a trivial check, no capability call.
    Plugins {
        /// A judge whose check makes no capability call.
        #[arg(long)]
        component: PathBuf,
        /// Measured runs.
        #[arg(long, default_value_t = 20_000)]
        runs: usize,
        /// Print the figures as JSON.
        #[arg(long)]
        json: bool,
    },
    /// A judge making five exec checks versus one shell script doing them
    /// in one `docker exec` (needs a Docker engine and the base image).
    Exec {
        /// A judge that answers task `five-checks` (tests/plugins/probe).
        #[arg(long)]
        component: PathBuf,
        /// Image of the benchmark session.
        #[arg(long, default_value = "proctor/base:bookworm")]
        image: String,
        /// Measured runs of each way.
        #[arg(long, default_value_t = 200)]
        runs: usize,
    },
    /// Session start-up (cold and from a warm pool), exec round trip, and
    /// this process's memory with many idle sessions (needs a Docker engine
    /// and the base image).
    Sessions {
        /// Image of the benchmark sessions.
        #[arg(long, default_value = "proctor/base:bookworm")]
        image: String,
        /// Measured starts of each kind.
        #[arg(long, default_value_t = 30)]
        runs: usize,
        /// Sessions held at once for the memory figure.
        #[arg(long, default_value_t = 200)]
        idle: usize,
        /// Print the figures as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Keystroke-to-echo latency through the terminal WebSocket with many
    /// terminals open and typing at once (needs a Docker engine and the
    /// base image).
    Terminals {
        /// Image of the benchmark sessions.
        #[arg(long, default_value = "proctor/base:bookworm")]
        image: String,
        /// Terminals open and typing at once.
        #[arg(long, default_value_t = 100)]
        terminals: usize,
        /// Terminals per session (at most 8).
        #[arg(long, default_value_t = 4)]
        per_session: usize,
        /// Keystrokes each terminal types.
        #[arg(long, default_value_t = 30)]
        keystrokes: usize,
        /// Milliseconds between one terminal's keystrokes.
        #[arg(long, default_value_t = 150)]
        interval_ms: u64,
        /// Print the figures as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The server logs its progress; the tools only speak up when something is wrong.
    let default_filter = match cli.command {
        None | Some(Cmd::Serve(_)) => "info,wasmtime=warn,cranelift=warn",
        Some(_) => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.into()))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command.unwrap_or(Cmd::Serve(cli.serve)) {
        Cmd::Serve(args) => serve(args).await,
        Cmd::Judge(JudgeCmd::Build { labs, out }) => judge_build(&labs, &out),
        Cmd::Judge(JudgeCmd::Run { component, task, fixture, lab, json, limits }) => {
            judge_run(&component, &task, &fixture, &lab, json, limits.as_deref()).await
        }
        Cmd::Lab(LabCmd::Validate { dir }) => lab_validate(&dir.unwrap_or_else(|| PathBuf::from("scenarios"))),
        Cmd::Lab(LabCmd::List { dir }) => lab_list(&dir),
        Cmd::Lab(LabCmd::New { id }) => lab_new(&id),
        Cmd::Login { server, user } => remote_login(server, &user).await,
        Cmd::Plugin(cmd) => plugin_cmd(cmd).await,
        Cmd::Lab(LabCmd::Test { ids, all, dir, judges_dir, json }) => lab_test(&ids, all, &dir, &judges_dir, json).await,
        Cmd::Lab(LabCmd::Import { from: ImportCmd::Killercoda { dir, out, id, image } }) => {
            lab_import_killercoda(&dir, &out, proctor::labs::import::killercoda::Options { id, image })
        }
        Cmd::Bench(BenchCmd::Plugins { component, runs, json }) => bench_plugins(&component, runs, json).await,
        Cmd::Bench(BenchCmd::Exec { component, image, runs }) => bench_exec(&component, &image, runs).await,
        Cmd::Bench(BenchCmd::Sessions { image, runs, idle, json }) => bench_sessions(&image, runs, idle, json).await,
        Cmd::Bench(BenchCmd::Terminals { image, terminals, per_session, keystrokes, interval_ms, json }) => {
            let load = bench::terminals::TerminalLoad { terminals, per_session, keystrokes, interval: Duration::from_millis(interval_ms) };
            bench_terminals(&image, load, json).await
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut config = Config::load(args.config.as_deref())?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(dir) = args.data_dir {
        config.data_dir = dir;
    }
    if let Some(dir) = args.judges_dir {
        config.judges_dir = dir;
    }
    if let Some(dir) = args.scenarios_dir {
        config.scenarios_dir = dir;
    }
    if let Some(instance) = args.instance {
        config.docker.instance = instance;
    }
    if let Some(url) = args.database_url {
        config.database_url = Some(DatabaseUrl(url));
    }
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create the data directory {}", config.data_dir.display()))?;
    let engine = PluginEngine::new(config.engine()).map_err(|e| anyhow::anyhow!("cannot start the plugin engine: {e:#}"))?;
    let registry = Registry::new(engine);
    // From a checkout with the default judges directory, the bundled judges
    // are built (again, when their sources changed) so the labs work.
    if config.judges_dir == Config::default().judges_dir
        && let Some(root) = prepare::checkout_root()
    {
        prepare::build_bundled_judges(root, &config.judges_dir).await;
    }
    if config.judges_dir.is_dir() {
        let loaded = registry.load_dir(&config.judges_dir).await?;
        let ok = loaded.iter().filter(|(_, r)| r.is_ok()).count();
        tracing::info!(dir = %config.judges_dir.display(), loaded = ok, failed = loaded.len() - ok, "judges loaded");
    } else {
        tracing::warn!(
            dir = %config.judges_dir.display(),
            "no built judges found; run `cargo run -- judge build` to build the bundled ones"
        );
    }
    let labs = Catalog::load(&config.scenarios_dir).unwrap_or_else(|e| {
        tracing::warn!(dir = %config.scenarios_dir.display(), error = %e, "no labs: cannot read the scenarios directory");
        Catalog::default()
    });
    for invalid in &labs.invalid {
        tracing::warn!("{invalid}");
    }
    let sessions = start_sessions(&config, &labs).await?;
    server::serve(AppState::new(registry, config, sessions, labs)).await?;
    Ok(ExitCode::SUCCESS)
}

/// Opens the store, reaches the container engine, reconciles what it holds
/// with the store, and starts the reaper. Without an engine the server
/// still serves; starting a session then says why it cannot.
async fn start_sessions(config: &Config, labs: &Catalog) -> anyhow::Result<Sessions> {
    let store = Store::connect(&config.database_url()).await.context("cannot open the database")?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    if let Some(password) = proctor::auth::accounts::ensure_first_admin(&store, now).await? {
        // Shown once, on the console of whoever started the server; never logged.
        tracing::warn!("created the administrator account `admin`; its one-time password is printed on standard output");
        println!("\n  administrator login: admin\n  one-time password:   {password}\n  (you will choose a new one at the first login)\n");
    }
    let runtime = match config.runtime {
        proctor::config::RuntimeChoice::Docker => docker_runtime(config, labs).await?,
        proctor::config::RuntimeChoice::Kubernetes => {
            match proctor::runtime::kube::KubeRuntime::connect(config.kubernetes.clone(), config.docker.instance.clone()).await {
                Ok(kube) => Arc::new(kube) as Arc<dyn Runtime>,
                Err(e) => {
                    tracing::error!(error = %e, "no cluster: sessions cannot start (is the kubeconfig right? does the service account have the RBAC of docs/kubernetes/rbac.yaml?)");
                    Arc::new(Unavailable::new(&e))
                }
            }
        }
    };
    let sessions = Sessions::new(store, runtime, config.sessions.policy());
    let defaults = config.sessions.default_lifetime();
    for lab in &labs.labs {
        if let Some(env) = lab.environment(&defaults) {
            sessions.set_lab(env);
        }
    }
    tracing::info!(labs = labs.labs.len(), startable = sessions.labs().len(), "labs loaded");
    if let Err(e) = sessions.reconcile().await {
        tracing::warn!(error = %e, "could not reconcile sessions with the engine at start-up");
    }
    sessions.spawn_reaper(Duration::from_secs(config.sessions.reap_interval_seconds));
    Ok(sessions)
}

/// The local Docker engine, with the base image the bundled labs need; an
/// unavailable runtime (that says why) when there is no engine.
async fn docker_runtime(config: &Config, labs: &Catalog) -> anyhow::Result<Arc<dyn Runtime>> {
    let pool = config.docker.subnet_pool().map_err(anyhow::Error::msg)?;
    Ok(match DockerRuntime::connect().await {
        Ok(docker) => {
            prepare::ensure_base_image(&docker, labs, prepare::checkout_root()).await;
            Arc::new(docker.with_subnet_pool(pool).with_instance(config.docker.instance.clone()))
        }
        Err(e) => {
            tracing::error!(error = %e, "no container engine: sessions cannot start (is dockerd running? is DOCKER_HOST right?)");
            Arc::new(Unavailable::new(&e))
        }
    })
}

fn workspace_root() -> anyhow::Result<PathBuf> {
    prepare::checkout_root().context("run this inside the Proctor workspace (no judges/ directory found above here)")
}

fn judge_build(labs: &[String], out: &Path) -> anyhow::Result<ExitCode> {
    let root = workspace_root()?;
    let dirs = if labs.is_empty() {
        toolchain::crates_in(&root.join("judges"))
    } else {
        labs.iter().map(|l| root.join("judges").join(l)).collect()
    };
    if dirs.is_empty() {
        bail!("no judge crates under {}", root.join("judges").display());
    }
    let out = root.join(out);
    for path in toolchain::build_components(&root, &dirs, &out, &[])? {
        println!("built {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

async fn judge_run(
    component: &Path,
    task_id: &str,
    fixture_path: &Path,
    lab: &str,
    json: bool,
    limits: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let wasm = std::fs::read(component).with_context(|| format!("cannot read {}", component.display()))?;
    let fixture = Fixture::load(fixture_path)?;
    let limits: Limits = match limits {
        Some(p) => toml::from_str(&std::fs::read_to_string(p)?).with_context(|| format!("{} is not valid", p.display()))?,
        None => Limits::default(),
    };
    let engine = PluginEngine::new(Default::default()).map_err(|e| anyhow::anyhow!("{e:#}"))?;
    let plugin = engine.load(&wasm).await?;
    let task = offline_task(lab, task_id, &fixture);
    let run = check_with_fixture(&engine, &plugin, &task, &fixture, limits).await.map_err(anyhow::Error::msg)?;
    let verdict = run.verdict;
    if json {
        println!("{}", serde_json::to_string_pretty(&verdict)?);
    } else {
        print_verdict(&verdict);
    }
    for request in &run.unanswered {
        eprintln!("warning: the fixture had no answer for {}", request.describe());
    }
    if run.unused > 0 {
        eprintln!("note: {} recorded call(s) were not asked for", run.unused);
    }
    Ok(match verdict.status {
        Status::Passed => ExitCode::SUCCESS,
        Status::Failed | Status::NotGradable => ExitCode::from(1),
        Status::Error => ExitCode::from(2),
    })
}

fn print_verdict(v: &Verdict) {
    if let Some(p) = &v.plugin {
        println!("{} {} (sha256 {})", p.name, p.version, &p.digest[..12.min(p.digest.len())]);
    }
    let status = serde_json::to_value(v.status).ok().and_then(|s| s.as_str().map(str::to_uppercase)).unwrap_or_default();
    match (&v.reason, v.limit) {
        (Some(reason), Some(limit)) => println!("{status} ({limit} limit): {reason}"),
        (Some(reason), None) => println!("{status}: {reason}"),
        _ => println!("{status}"),
    }
    for c in &v.checks {
        let mark = if c.passed { "✓" } else { "✗" };
        let hidden = if c.visibility == Visibility::OutcomeOnly { " [details hidden from learners]" } else { "" };
        println!("  {mark} {} — {}{hidden}", c.id, c.message);
        if let Some(h) = c.hint.as_ref().filter(|_| !c.passed) {
            println!("      hint: {h}");
        }
    }
    if let Some(s) = v.score {
        println!("score: {} / {}", s.points, s.max);
    }
    for (name, value) in &v.metrics {
        println!("metric {name}: {}", serde_json::to_string(value).unwrap_or_default());
    }
    for line in &v.log {
        println!("log | {line}");
    }
    println!(
        "{} capability call(s), {} fuel, {:.2} ms",
        v.stats.capability_calls,
        v.stats.fuel_used,
        v.stats.duration_us as f64 / 1000.0
    );
}

async fn bench_plugins(component: &Path, runs: usize, json: bool) -> anyhow::Result<ExitCode> {
    let wasm = std::fs::read(component).with_context(|| format!("cannot read {}", component.display()))?;
    let engine = PluginEngine::new(Default::default()).map_err(|e| anyhow::anyhow!("{e:#}"))?;
    let plugin = engine.load(&wasm).await?;
    let figures = bench::plugin_call_overhead(&engine, &plugin, runs.max(1)).await.map_err(anyhow::Error::msg)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&figures)?);
    } else {
        println!(
            "plugin call overhead (instantiate + trivial check), {} runs: p50 {:.1} µs, p99 {:.1} µs, mean {:.1} µs, min {:.1} µs, max {:.1} µs",
            figures.runs, figures.p50_us, figures.p99_us, figures.mean_us, figures.min_us, figures.max_us
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn bench_exec(component: &Path, image: &str, runs: usize) -> anyhow::Result<ExitCode> {
    let wasm = std::fs::read(component).with_context(|| format!("cannot read {}", component.display()))?;
    let engine = PluginEngine::new(Default::default()).map_err(|e| anyhow::anyhow!("{e:#}"))?;
    let plugin = engine.load(&wasm).await?;
    let runtime = Arc::new(proctor::runtime::docker::DockerRuntime::connect().await?);
    let figures = bench::judge_vs_script(&engine, &plugin, runtime, image, runs.max(1)).await.map_err(anyhow::Error::msg)?;
    let line = |name: &str, p: &bench::Percentiles| println!("{name:<40} p50 {:>8.2} ms  p99 {:>8.2} ms", p.p50_us / 1e3, p.p99_us / 1e3);
    line("one shell script, one docker exec", &figures.script_one_exec);
    line("five docker execs, one after another", &figures.five_execs_in_turn);
    line("judge, five checks in one run-all", &figures.judge_run_all);
    println!("judge / script at p50: {:.2} (budget 1.5)", figures.ratio_p50);
    Ok(ExitCode::SUCCESS)
}

/// Runs a benchmark on the Docker engine with a store of its own, so the
/// figures include real SQL and nothing of a server's state is touched.
async fn with_bench_store<T, F: Future<Output = Result<T, String>>>(run: impl FnOnce(Arc<DockerRuntime>, Store) -> F) -> anyhow::Result<T> {
    let runtime = Arc::new(DockerRuntime::connect().await?);
    let dir = std::env::temp_dir().join(format!("proctor-bench-{}", std::process::id()));
    let store = Store::open_in(&dir).await?;
    let figures = run(runtime, store).await;
    std::fs::remove_dir_all(&dir).ok();
    figures.map_err(anyhow::Error::msg)
}

async fn bench_terminals(image: &str, load: bench::terminals::TerminalLoad, json: bool) -> anyhow::Result<ExitCode> {
    let figures = with_bench_store(|runtime, store| bench::terminals::keystroke_echo(runtime, store, image, load)).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&figures)?);
        return Ok(ExitCode::SUCCESS);
    }
    let l = &figures.load;
    println!(
        "{} terminals ({} per session), {} keystrokes each, one per {} ms; set up in {:.1} s",
        l.terminals,
        l.per_session,
        l.keystrokes,
        l.interval.as_millis(),
        figures.setup_seconds
    );
    println!(
        "keystroke echo (budget p99 50 ms)     p50 {:>9.2} ms  p99 {:>9.2} ms  max {:>9.2} ms  ({} keystrokes)",
        figures.echo.p50_us / 1e3,
        figures.echo.p99_us / 1e3,
        figures.echo.max_us / 1e3,
        figures.echo.runs
    );
    Ok(ExitCode::SUCCESS)
}

async fn bench_sessions(image: &str, runs: usize, idle: usize, json: bool) -> anyhow::Result<ExitCode> {
    let figures = with_bench_store(|runtime, store| bench::sessions::sessions(runtime, store, image, runs.max(1), idle)).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&figures)?);
        return Ok(ExitCode::SUCCESS);
    }
    let line = |name: &str, p: &bench::Percentiles| println!("{name:<36} p50 {:>9.2} ms  p99 {:>9.2} ms", p.p50_us / 1e3, p.p99_us / 1e3);
    line("session ready, cold (budget 1 s)", &figures.ready_cold);
    line("session ready, warm pool (budget 50 ms)", &figures.ready_warm);
    line("exec round trip (`true`)", &figures.exec_round_trip);
    let m = &figures.idle;
    println!(
        "{} idle sessions: RSS {:.1} MiB (before {:.1} MiB; budget 200 MiB), started in {:.1} s",
        m.sessions, m.rss_with_sessions_mib, m.rss_before_mib, m.start_all_seconds
    );
    Ok(ExitCode::SUCCESS)
}

async fn lab_test(ids: &[String], all: bool, dir: &Path, judges_dir: &Path, json: bool) -> anyhow::Result<ExitCode> {
    if ids.is_empty() && !all {
        bail!("name the labs to test, or --all");
    }
    let catalog = Catalog::load(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for invalid in &catalog.invalid {
        eprintln!("invalid {invalid}");
    }
    let labs: Vec<_> = if all {
        catalog.labs.clone()
    } else {
        ids.iter().map(|id| catalog.get(id).cloned().with_context(|| format!("no valid lab `{id}` in {}", dir.display()))).collect::<anyhow::Result<_>>()?
    };
    if judges_dir == Config::default().judges_dir
        && let Some(root) = prepare::checkout_root()
    {
        prepare::build_bundled_judges(root, judges_dir).await;
    }
    let registry = Registry::new(PluginEngine::new(Config::default().engine()).map_err(|e| anyhow::anyhow!("{e:#}"))?);
    if judges_dir.is_dir() {
        registry.load_dir(judges_dir).await?;
    }
    // A store and engine objects of its own: nothing of a server's is touched.
    let instance = format!("lab-test-{}", std::process::id());
    let scratch = std::env::temp_dir().join(&instance);
    let store = Store::open_in(&scratch).await?;
    let docker = DockerRuntime::connect().await.context("lab tests need a Docker engine")?.with_instance(instance);
    let policy = proctor::sessions::SessionPolicy { max_sessions: 4, max_per_learner: 4, ..Default::default() };
    let sessions = Sessions::new(store, Arc::new(docker), policy);
    let lifetime = Config::default().sessions.default_lifetime();
    for lab in &labs {
        if let Some(mut env) = lab.environment(&lifetime) {
            env.warm_pool = 0;
            sessions.set_lab(env);
        }
    }
    let mut outcomes = Vec::new();
    for lab in &labs {
        outcomes.push(proctor::judging::lab_test::run(&registry, &sessions, lab).await);
    }
    std::fs::remove_dir_all(&scratch).ok();
    if json {
        println!("{}", serde_json::to_string_pretty(&outcomes)?);
    } else {
        print!("{}", proctor::judging::lab_test::table(&outcomes));
    }
    let failed = outcomes.iter().filter(|o| !o.passed()).count();
    if failed > 0 || (all && !catalog.invalid.is_empty()) {
        eprintln!("{failed} of {} labs deviated{}", outcomes.len(), if catalog.invalid.is_empty() { "" } else { ", and some labs are invalid" });
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// The blocking HTTP client runs off the async runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> anyhow::Result<T> + Send + 'static) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(f).await?
}

async fn remote_login(args: ServerArgs, user: &str) -> anyhow::Result<ExitCode> {
    // From the environment for scripts, else one line of standard input.
    let password = match std::env::var("PROCTOR_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            eprint!("password for {user} at {}: ", args.server);
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\n', '\r']).to_owned()
        }
    };
    let user = user.to_owned();
    let label = format!("proctor CLI on {}", std::env::var("HOSTNAME").unwrap_or_else(|_| "this machine".into()));
    let server = args.server.clone();
    blocking(move || {
        let mut remote = proctor::remote::Remote::new(&server, None);
        let new_password = || {
            std::env::var("PROCTOR_NEW_PASSWORD").ok().or_else(|| {
                eprint!("this account must choose a new password; new password: ");
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).ok()?;
                Some(line.trim_end_matches(['\n', '\r']).to_owned()).filter(|l| !l.is_empty())
            })
        };
        remote.login(&user, &password, &label, new_password)?;
        println!("logged in to {server} as {user}; the token is kept in {}", proctor::remote::credentials_path().display());
        Ok(())
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}

async fn plugin_cmd(cmd: PluginCmd) -> anyhow::Result<ExitCode> {
    blocking(move || {
        match cmd {
            PluginCmd::Push { file, server, no_promote } => {
                let wasm = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
                let done = proctor::remote::Remote::new(&server.server, server.token).push(&wasm, !no_promote)?;
                let state = if done["serving"].as_bool() == Some(true) { "serving" } else { "loaded, not serving" };
                println!("{} {} ({state}, digest {})", done["name"].as_str().unwrap_or("?"), done["version"].as_str().unwrap_or("?"), done["digest"].as_str().unwrap_or("?"));
            }
            PluginCmd::List { server } => {
                let plugins = proctor::remote::Remote::new(&server.server, server.token).list()?;
                println!("{:<32} {:<10} {:<9} VERSIONS", "NAME", "SERVING", "DISABLED");
                for p in plugins.as_array().into_iter().flatten() {
                    let versions: Vec<&str> = p["versions"].as_array().into_iter().flatten().filter_map(|v| v["version"].as_str()).collect();
                    println!("{:<32} {:<10} {:<9} {}", p["name"].as_str().unwrap_or("?"), p["serving"].as_str().unwrap_or("-"), p["disabled"].as_bool().unwrap_or(false), versions.join(", "));
                }
            }
            PluginCmd::Rollback { name, server } => {
                let p = proctor::remote::Remote::new(&server.server, server.token).rollback(&name)?;
                println!("{name} serves {} again", p["serving"].as_str().unwrap_or("?"));
            }
        }
        Ok(())
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}

fn lab_new(id: &str) -> anyhow::Result<ExitCode> {
    let root = workspace_root()?;
    for path in proctor::labs::scaffold::create(&root, id)? {
        println!("created {}", path.display());
    }
    println!("next: edit scenarios/{id}/ and judges/{id}/, then `proctor judge build {id}` and `proctor lab test {id}`");
    Ok(ExitCode::SUCCESS)
}

fn lab_import_killercoda(dir: &Path, out: &Path, options: proctor::labs::import::killercoda::Options) -> anyhow::Result<ExitCode> {
    let converted = proctor::labs::import::killercoda::convert(dir, &options)?;
    let written = converted.write(out)?;
    for finding in &converted.report {
        println!("{finding}");
    }
    // The result must load like any lab; say so now rather than at serve.
    let lab = Catalog::load(out)?;
    if let Some(invalid) = lab.invalid.iter().find(|i| i.dir == written) {
        eprintln!("{invalid}");
        bail!("the imported lab in {} does not validate; fix it or report the scenario", written.display());
    }
    println!("imported {} into {}", converted.id, written.display());
    Ok(ExitCode::SUCCESS)
}

fn lab_validate(dir: &Path) -> anyhow::Result<ExitCode> {
    let catalog = Catalog::load(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for lab in &catalog.labs {
        println!("ok      {} ({} tasks)", lab.id, lab.tasks.len());
    }
    for invalid in &catalog.invalid {
        eprintln!("invalid {invalid}");
    }
    if catalog.labs.is_empty() && catalog.invalid.is_empty() {
        bail!("no labs in {}", dir.display());
    }
    Ok(if catalog.invalid.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn lab_list(dir: &Path) -> anyhow::Result<ExitCode> {
    let catalog = Catalog::load(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for lab in &catalog.labs {
        let difficulty = serde_json::to_value(lab.difficulty)?;
        println!("{:<24} {:<13} {:>4} min  {}", lab.id, difficulty.as_str().unwrap_or_default(), lab.duration_minutes, lab.title);
    }
    for invalid in &catalog.invalid {
        eprintln!("skipped {} (run `proctor lab validate` for why)", invalid.dir.display());
    }
    Ok(ExitCode::SUCCESS)
}
