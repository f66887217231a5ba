//! The sandbox: one wasmtime engine, and bounded calls into plugins.
//!
//! Everything wasmtime-specific lives here: the engine configuration (pooling
//! allocator, fuel, epoch interruption, no component-model concurrency), the
//! epoch ticker, the linker (a deny-everything WASI plus the `environment`
//! capabilities), loading a component, and calling it in a fresh store with
//! the call's limits. A call always yields an answer: a plugin that breaks a
//! limit or crashes yields a [`CallFailure`] naming the cause.

use std::{
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap,
    component::{HasSelf, InstancePre, Linker, ResourceTable},
};
use wasmtime_wasi::WasiCtxBuilder;

use super::{
    bindings::{self, grader, hinter, types as wit},
    cache::ArtifactCache,
    contract::{self, Contract, ContractError},
    host::{CallState, Gate},
    limits::{CallLimiter, Limit, LimitExceeded, Limits},
    output::{PluginOutput, Stream},
    verdict::{CallFailure, CallStats, Hint, PluginRef, Task, Verdict, guest_verdict_bytes},
};
use crate::capabilities::{Detached, Environment, Grants};

/// How often the epoch advances; wall-time limits are this precise.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Stack a plugin may use before it traps with the `stack` limit.
const MAX_WASM_STACK: usize = 512 << 10;

/// Core instances, memories and tables one component may have in the pool.
/// A Rust `wasm32-wasip2` judge has a handful of core instances and one memory.
const CORE_INSTANCES_PER_COMPONENT: u32 = 32;
const MEMORIES_PER_COMPONENT: u32 = 2;
const TABLES_PER_COMPONENT: u32 = 8;

/// Bytes of a pooled memory or table that are reset in place rather than
/// decommitted, when the kernel can say which pages are dirty.
const KEEP_RESIDENT: usize = 8 << 20;

/// How the engine is set up.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Where compiled plugins are cached; `None` compiles on every load.
    pub cache_dir: Option<std::path::PathBuf>,
    /// Server-wide ceilings; a lab's limits are lowered to these.
    pub ceilings: Limits,
    /// Plugin calls that may run at once; more wait for a slot.
    pub max_concurrent_calls: u32,
    /// Largest component accepted, in bytes.
    pub max_plugin_bytes: usize,
    /// Reset pooled memory in place, page by dirty page, where the kernel
    /// supports it (Linux 6.7+); otherwise, or when false, decommit it.
    pub reset_in_place: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            cache_dir: None,
            ceilings: Limits {
                wall_time: Duration::from_secs(300),
                fuel: 50_000_000_000,
                memory_bytes: 256 << 20,
                capability_calls: 10_000,
                capability_bytes: 256 << 20,
                output_bytes: 4 << 20,
                capability_timeout: Duration::from_secs(300),
            },
            max_concurrent_calls: 64,
            max_plugin_bytes: 32 << 20,
            reset_in_place: true,
        }
    }
}

/// Why a component could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Larger than the engine accepts.
    #[error("the plugin is {size} bytes; the largest accepted is {max}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The cap.
        max: usize,
    },
    /// Not a valid WebAssembly component.
    #[error("not a valid WebAssembly component: {0}")]
    Invalid(String),
    /// Built against a contract this host does not speak.
    #[error(transparent)]
    Contract(#[from] ContractError),
    /// Imports something the host does not provide.
    #[error("the plugin needs imports this host does not provide: {0}")]
    Link(String),
    /// Its `info` export failed or answered nonsense.
    #[error("the plugin did not say who it is: {0}")]
    Identity(String),
}

/// A loaded plugin: compiled, checked and ready to instantiate.
pub struct Plugin {
    /// Name, as labs refer to it.
    pub name: String,
    /// Version (semver).
    pub version: String,
    /// SHA-256 of the component, hex.
    pub digest: String,
    /// The contract it was built against and what it exports.
    pub contract: Contract,
    /// When this host loaded it.
    pub loaded_at: SystemTime,
    /// Size of the component in bytes.
    pub size: usize,
    /// Its calls from learners' sessions so far (offline runs and dry
    /// runs are not counted).
    pub usage: super::usage::Usage,
    pre: InstancePre<CallState>,
    grader: Option<grader::GuestIndices>,
    hinter: Option<hinter::GuestIndices>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

impl Plugin {
    /// Who answered, for verdicts.
    pub fn reference(&self) -> PluginRef {
        PluginRef { name: self.name.clone(), version: self.version.clone(), digest: self.digest.clone() }
    }
}

/// What one call may use: the environment, the lab's grants and its limits.
#[derive(Clone)]
pub struct CallContext {
    /// The learner's environment (or a fixture).
    pub env: Arc<dyn Environment>,
    /// Capabilities the lab grants.
    pub grants: Grants,
    /// The lab's limits (lowered to the server's ceilings).
    pub limits: Limits,
}

impl CallContext {
    /// A context with no environment, no grants and default limits.
    pub fn detached() -> Self {
        CallContext { env: Arc::new(Detached), grants: Grants::none(), limits: Limits::default() }
    }
}

/// The engine: cheap to clone, shared by every call.
#[derive(Clone)]
pub struct PluginEngine {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    linker: Linker<CallState>,
    cache: ArtifactCache,
    config: EngineConfig,
    slots: Semaphore,
}

/// How a pooled slot is made clean for its next call.
#[derive(Clone, Copy)]
enum SlotReset {
    /// Find the pages the last call dirtied (PAGEMAP_SCAN, Linux 6.7+) and
    /// reset those in place: no page faults or TLB shootdowns next call.
    DirtyPagesInPlace,
    /// Decommit the slot (works everywhere; the pages fault back in).
    Decommit,
}

fn wasmtime_config(config: &EngineConfig, reset: SlotReset) -> Config {
    let slots = config.max_concurrent_calls.max(1);
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(slots)
        .total_core_instances(slots * CORE_INSTANCES_PER_COMPONENT)
        .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
        .total_memories(slots * MEMORIES_PER_COMPONENT)
        .max_memories_per_component(MEMORIES_PER_COMPONENT)
        .total_tables(slots * TABLES_PER_COMPONENT)
        .max_tables_per_component(TABLES_PER_COMPONENT)
        .total_stacks(slots)
        .max_memory_size(config.ceilings.memory_bytes as usize);
    if let SlotReset::DirtyPagesInPlace = reset {
        // Without the scan, keeping this much resident would memset it all
        // on every call: hence `Yes`, which refuses to start without it.
        pool.pagemap_scan(wasmtime::Enabled::Yes)
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(KEEP_RESIDENT);
    }
    let mut wasm = Config::new();
    wasm.wasm_component_model(true)
        // Component-model concurrency costs about 1 µs per call and is only
        // needed for WASI p3 async, which plugins do not use.
        .concurrency_support(false)
        .consume_fuel(true)
        .epoch_interruption(true)
        .max_wasm_stack(MAX_WASM_STACK)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    wasm
}

/// Which export to call.
enum Call<'a> {
    Info,
    Check(&'a wit::Task),
    Hint(&'a wit::Task, u32, Option<&'a wit::Verdict>),
}

enum Reply {
    Info(wit::PluginInfo),
    Verdict(wit::Verdict),
    Hint(Option<wit::Hint>),
}

/// The outcome of one call, with what it cost and what it wrote.
struct Invocation {
    reply: Result<Reply, CallFailure>,
    stats: CallStats,
    log: Vec<String>,
}

impl PluginEngine {
    /// Builds the engine and starts its epoch ticker.
    pub fn new(config: EngineConfig) -> wasmtime::Result<Self> {
        let slots = config.max_concurrent_calls.max(1);
        let in_place = match config.reset_in_place {
            true => Engine::new(&wasmtime_config(&config, SlotReset::DirtyPagesInPlace)),
            false => Err(wasmtime::format_err!("in-place reset is switched off")),
        };
        let engine = match in_place {
            Ok(engine) => engine,
            Err(e) => {
                tracing::info!(reason = %e, "resetting plugin memory by decommitting it (slower per call)");
                Engine::new(&wasmtime_config(&config, SlotReset::Decommit))?
            }
        };

        let mut linker = Linker::new(&engine);
        // A plain Rust wasip2 component imports wasi:cli, wasi:io and friends;
        // they are linked against a context that grants nothing.
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        bindings::JudgeAndHints::add_to_linker::<CallState, HasSelf<CallState>>(&mut linker, |s| s)?;

        start_epoch_ticker(&engine);
        Ok(PluginEngine {
            inner: Arc::new(Inner {
                engine,
                linker,
                cache: ArtifactCache::new(config.cache_dir.clone()),
                slots: Semaphore::new(slots as usize),
                config,
            }),
        })
    }

    /// The server-wide ceilings.
    pub fn ceilings(&self) -> &Limits {
        &self.inner.config.ceilings
    }

    /// Compiles (or loads from the cache), checks and identifies a component.
    #[tracing::instrument(skip_all, fields(bytes = wasm.len()))]
    pub async fn load(&self, wasm: &[u8]) -> Result<Plugin, LoadError> {
        let max = self.inner.config.max_plugin_bytes;
        if wasm.len() > max {
            return Err(LoadError::TooLarge { size: wasm.len(), max });
        }
        let digest = hex::encode(Sha256::digest(wasm));
        let component = {
            let (inner, digest, wasm) = (self.inner.clone(), digest.clone(), wasm.to_vec());
            // Compiling takes tens of milliseconds or more: off the async threads.
            tokio::task::spawn_blocking(move || inner.cache.load_or_compile(&inner.engine, &digest, &wasm))
                .await
                .map_err(|e| LoadError::Invalid(e.to_string()))?
                .map_err(|e| LoadError::Invalid(format!("{e:#}")))?
        };
        let contract = contract::inspect(&component, &self.inner.engine)?;
        let pre = self.inner.linker.instantiate_pre(&component).map_err(|e| LoadError::Link(format!("{e:#}")))?;
        let link = |e: wasmtime::Error| LoadError::Link(format!("{e:#}"));
        let grader = contract.judge.then(|| grader::GuestIndices::new(&pre)).transpose().map_err(link)?;
        let hinter = contract.hints.then(|| hinter::GuestIndices::new(&pre)).transpose().map_err(link)?;
        let mut plugin = Plugin {
            name: String::new(),
            version: String::new(),
            digest,
            contract,
            loaded_at: SystemTime::now(),
            size: wasm.len(),
            usage: Default::default(),
            pre,
            grader,
            hinter,
        };
        let info = match self.invoke(&plugin, CallContext::detached(), Call::Info).await.reply {
            Ok(Reply::Info(info)) => info,
            Ok(_) => unreachable!("info answers with info"),
            Err(e) => return Err(LoadError::Identity(e.reason)),
        };
        validate_identity(&info)?;
        plugin.name = info.name;
        plugin.version = info.version;
        tracing::info!(name = %plugin.name, version = %plugin.version, digest = %plugin.digest, "plugin loaded");
        Ok(plugin)
    }

    /// Grades a task. Always returns a verdict: limit breaches and crashes
    /// become `error` verdicts that name their cause.
    #[tracing::instrument(skip_all, fields(plugin = %plugin.name, version = %plugin.version, task = %task.task))]
    pub async fn check(&self, plugin: &Plugin, task: &Task, ctx: CallContext) -> Verdict {
        let invocation = self.invoke(plugin, ctx, Call::Check(&task.into())).await;
        let mut verdict = match invocation.reply {
            Ok(Reply::Verdict(v)) => {
                let mut verdict = Verdict::from_guest(v);
                let own_log = std::mem::take(&mut verdict.log);
                verdict.log = invocation.log;
                verdict.log.extend(own_log);
                verdict
            }
            Ok(_) => unreachable!("check answers with a verdict"),
            Err(failure) => {
                let mut verdict = Verdict::error(failure.reason, failure.limit);
                verdict.log = invocation.log;
                verdict
            }
        };
        verdict.plugin = Some(plugin.reference());
        verdict.stats = invocation.stats;
        verdict
    }

    /// Asks a hint provider for a hint.
    #[tracing::instrument(skip_all, fields(plugin = %plugin.name, task = %task.task, attempts))]
    pub async fn hint(
        &self,
        plugin: &Plugin,
        task: &Task,
        attempts: u32,
        last: Option<&Verdict>,
        ctx: CallContext,
    ) -> Result<Option<Hint>, CallFailure> {
        let last = last.map(wit::Verdict::from);
        match self.invoke(plugin, ctx, Call::Hint(&task.into(), attempts, last.as_ref())).await.reply? {
            Reply::Hint(hint) => Ok(hint.map(|h| Hint { text: h.text, level: h.level })),
            _ => unreachable!("hint answers with a hint"),
        }
    }

    /// Runs one call in a fresh store, within the call's limits.
    async fn invoke(&self, plugin: &Plugin, ctx: CallContext, call: Call<'_>) -> Invocation {
        let limits = ctx.limits.within(&self.inner.config.ceilings);
        let Ok(_slot) = self.inner.slots.acquire().await else {
            unreachable!("the call semaphore is never closed");
        };
        let started = Instant::now();
        let mut store = match self.new_store(ctx, &limits) {
            Ok(store) => store,
            Err(e) => {
                return Invocation {
                    reply: Err(CallFailure { reason: format!("could not prepare the sandbox: {e:#}"), limit: None }),
                    stats: CallStats::default(),
                    log: Vec::new(),
                };
            }
        };
        // Epochs stop wasm code; capability calls have their own timeouts.
        // This outer bound only catches what slips between the two.
        let bound = limits.wall_time + Duration::from_secs(1);
        let outcome = tokio::time::timeout(bound, call_export(&mut store, plugin, call)).await;
        store.data_mut().gate.stop_leftovers().await;

        let state = store.data();
        let breach = state.gate.breach.clone().or_else(|| state.output.breach());
        let reply = match outcome {
            Err(_) => Err(failure(LimitExceeded::new(
                Limit::WallTime,
                format!("the call ran past its wall time of {} ms", limits.wall_time.as_millis()),
            ))),
            Ok(Err(e)) => Err(classify(&e, breach, &state.output, &limits)),
            Ok(Ok(_)) if breach.is_some() => Err(failure(breach.expect("checked"))),
            Ok(Ok(Reply::Verdict(v))) => match state.output.charge(guest_verdict_bytes(&v), "the verdict") {
                Ok(()) => Ok(Reply::Verdict(v)),
                Err(breach) => Err(failure(breach)),
            },
            Ok(Ok(reply)) => Ok(reply),
        };
        let stats = CallStats {
            duration_us: started.elapsed().as_micros() as u64,
            fuel_used: limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0)),
            capability_calls: state.gate.calls,
        };
        if let Err(f) = &reply {
            tracing::warn!(plugin = %plugin.name, limit = ?f.limit, reason = %f.reason, "plugin call failed");
        }
        Invocation { reply, stats, log: state.output.lines() }
    }

    fn new_store(&self, ctx: CallContext, limits: &Limits) -> wasmtime::Result<Store<CallState>> {
        let output = PluginOutput::new(limits.output_bytes);
        // No preopened directories, no environment, no arguments, no network:
        // the plugin's only way out is the gated capabilities.
        let wasi = WasiCtxBuilder::new()
            .stdout(output.stream(Stream::Stdout))
            .stderr(output.stream(Stream::Stderr))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let state = CallState {
            wasi,
            table: ResourceTable::new(),
            limiter: CallLimiter { max_memory: limits.memory_bytes as usize },
            gate: Gate::new(ctx.env, ctx.grants, limits.clone()),
            output,
        };
        let mut store = Store::new(&self.inner.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_fuel(limits.fuel)?;
        let ticks = limits.wall_time.as_millis().div_ceil(EPOCH_TICK.as_millis()) as u64;
        store.set_epoch_deadline(ticks.max(1));
        store.epoch_deadline_trap();
        Ok(store)
    }
}

async fn call_export(store: &mut Store<CallState>, plugin: &Plugin, call: Call<'_>) -> wasmtime::Result<Reply> {
    let instance = plugin.pre.instantiate_async(&mut *store).await?;
    let no_export = |what: &str| wasmtime::format_err!("the plugin does not export {what}");
    Ok(match call {
        Call::Info => match (&plugin.grader, &plugin.hinter) {
            (Some(g), _) => Reply::Info(g.load(&mut *store, &instance)?.call_info(&mut *store).await?),
            (None, Some(h)) => Reply::Info(h.load(&mut *store, &instance)?.call_info(&mut *store).await?),
            (None, None) => return Err(no_export("grader or hinter")),
        },
        Call::Check(task) => {
            let grader = plugin.grader.as_ref().ok_or_else(|| no_export("a judge (grader)"))?;
            Reply::Verdict(grader.load(&mut *store, &instance)?.call_check(&mut *store, task).await?)
        }
        Call::Hint(task, attempts, last) => {
            let hinter = plugin.hinter.as_ref().ok_or_else(|| no_export("a hint provider (hinter)"))?;
            Reply::Hint(hinter.load(&mut *store, &instance)?.call_suggest(&mut *store, task, attempts, last).await?)
        }
    })
}

fn failure(breach: LimitExceeded) -> CallFailure {
    CallFailure { reason: breach.to_string(), limit: Some(breach.limit) }
}

/// Names the cause of a failed call.
fn classify(e: &wasmtime::Error, breach: Option<LimitExceeded>, output: &PluginOutput, limits: &Limits) -> CallFailure {
    if let Some(breach) = breach.or_else(|| e.downcast_ref::<LimitExceeded>().cloned()) {
        return failure(breach);
    }
    let limit = |limit, detail: String| failure(LimitExceeded::new(limit, detail));
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => limit(Limit::Fuel, format!("the plugin used its whole instruction budget of {}", limits.fuel)),
        Some(Trap::Interrupt) => limit(
            Limit::WallTime,
            format!("the plugin ran past its wall time of {} ms", limits.wall_time.as_millis()),
        ),
        Some(Trap::StackOverflow) => limit(Limit::Stack, "the plugin exhausted its call stack (runaway recursion?)".into()),
        Some(Trap::UnreachableCodeReached) => {
            let said = output.stderr_tail();
            let reason = if said.is_empty() {
                "the plugin crashed (it panicked or aborted)".to_owned()
            } else {
                format!("the plugin crashed: {said}")
            };
            CallFailure { reason, limit: None }
        }
        Some(trap) => CallFailure { reason: format!("the plugin crashed: {trap}"), limit: None },
        None => CallFailure { reason: format!("the plugin call failed: {e:#}"), limit: None },
    }
}

fn validate_identity(info: &wit::PluginInfo) -> Result<(), LoadError> {
    let name_ok = !info.name.is_empty()
        && info.name.len() <= 64
        && info.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !name_ok {
        return Err(LoadError::Identity(format!(
            "name `{}` must be 1-64 characters of a-z, 0-9, `-` and `_`",
            info.name
        )));
    }
    semver::Version::parse(&info.version)
        .map_err(|e| LoadError::Identity(format!("version `{}` is not semver: {e}", info.version)))?;
    Ok(())
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the engine is gone.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new().name("proctor-epoch".into()).spawn(move || {
        while let Some(engine) = weak.upgrade() {
            engine.increment_epoch();
            drop(engine);
            std::thread::sleep(EPOCH_TICK);
        }
    });
    if let Err(e) = spawned {
        // Without a ticker wall-time limits cannot fire; fuel still bounds CPU.
        tracing::error!(error = %e, "could not start the epoch ticker");
    }
}
