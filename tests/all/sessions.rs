//! The session manager's rules on the store (SQLite here; the store's own
//! tests cover PostgreSQL) and an in-memory runtime: caps and the queue,
//! TTL, idleness, warm pools, reconciling after a restart, faults, and
//! workspaces kept between sessions.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::{Duration, Instant},
};

use proctor::{
    runtime::{EnvironmentSpec, MachineSpec, Resources, Runtime},
    sessions::{
        Clock, EndReason, LabEnvironment, Lifetime, Phase, SessionError, SessionPolicy, Sessions,
        WorkspacePersistence, WorkspaceRestore,
    },
};
use proctor_tests::{databases::sqlite, memory_runtime::MemoryRuntime};

const MIN: i64 = 60_000;

/// A clock the test moves by hand.
#[derive(Debug, Default)]
struct HandClock(AtomicI64);

impl HandClock {
    fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for HandClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn lab(id: &str, warm_pool: u32) -> LabEnvironment {
    LabEnvironment {
        lab: id.into(),
        machines: vec![MachineSpec {
            name: "main".into(),
            image: "proctor/base:bookworm".into(),
            resources: Resources::default(),
            workdir: "/workspace".into(),
        }],
        lifetime: Lifetime {
            ttl: Duration::from_secs(30 * 60),
            extend_by: Duration::from_secs(15 * 60),
            max_extensions: 1,
            max_total: Duration::from_secs(60 * 60),
        },
        warm_pool,
        workspace: None,
        setup: None,
        egress: vec![],
    }
}

struct World {
    sessions: Sessions,
    runtime: Arc<MemoryRuntime>,
    clock: Arc<HandClock>,
}

async fn world(policy: SessionPolicy) -> World {
    let runtime = Arc::new(MemoryRuntime::default());
    let clock = Arc::new(HandClock(AtomicI64::new(1_000_000)));
    let sessions = Sessions::with_clock(sqlite().await, runtime.clone(), policy, clock.clone());
    sessions.set_lab(lab("lab-a", 0));
    sessions.set_lab(lab("lab-b", 0));
    World { sessions, runtime, clock }
}

fn policy(max_sessions: u32, max_per_learner: u32) -> SessionPolicy {
    SessionPolicy { max_sessions, max_per_learner, ..SessionPolicy::default() }
}

#[tokio::test]
async fn caps_queue_learners_fairly_and_say_where_they_stand() {
    let w = world(policy(2, 1)).await;
    let ann = w.sessions.start("ann", "lab-a").await.unwrap();
    assert_eq!((ann.session.phase, ann.resumed, ann.from_pool), (Phase::Running, false, false));
    let again = w.sessions.start("ann", "lab-a").await.unwrap();
    assert_eq!((again.session.id.as_str(), again.resumed), (ann.session.id.as_str(), true), "starting a running lab resumes it");
    let err = w.sessions.start("ann", "lab-b").await.unwrap_err();
    assert!(matches!(err, SessionError::LearnerLimit { limit: 1, .. }), "{err:?}");
    assert!(err.to_string().contains(&ann.session.id), "the message names the session to end: {err}");

    w.sessions.start("bo", "lab-a").await.unwrap();
    let cy = w.sessions.start("cy", "lab-b").await.unwrap_err();
    let SessionError::Full { capacity, position, waiting, retry_after } = cy else { panic!("{cy:?}") };
    assert_eq!((capacity, position, waiting), (2, 1, 1));
    assert!((5..=60).contains(&retry_after.as_secs()), "{retry_after:?}");
    let dee = w.sessions.start("dee", "lab-a").await.unwrap_err();
    assert!(matches!(dee, SessionError::Full { position: 2, waiting: 2, .. }), "{dee:?}");
    assert!(dee.to_string().contains("number 2 of 2 in the queue"), "{dee}");
    assert_eq!(w.runtime.sessions().len(), 2, "nobody over the cap got an environment");

    // A seat frees: the head of the queue gets it, not whoever asks first.
    w.sessions.end_owned(&ann.session.id, "ann").await.unwrap();
    let still = w.sessions.start("dee", "lab-a").await.unwrap_err();
    assert!(matches!(still, SessionError::Full { position: 2, .. }), "{still:?}");
    w.sessions.start("cy", "lab-b").await.expect("the head of the queue gets the seat");
    let last = w.sessions.start("dee", "lab-a").await.unwrap_err();
    assert!(matches!(last, SessionError::Full { position: 1, waiting: 1, .. }), "{last:?}");
}

#[tokio::test]
async fn sessions_expire_idle_out_and_extend_within_bounds() {
    let w = world(SessionPolicy { idle_timeout: Duration::from_secs(10 * 60), ..policy(10, 5) }).await;
    let idle = w.sessions.start("ann", "lab-a").await.unwrap().session;
    let busy = w.sessions.start("ann", "lab-b").await.unwrap().session;
    let other = w.sessions.start("bo", "lab-a").await.unwrap().session;
    assert!(matches!(w.sessions.extend(&busy.id, "bo").await.unwrap_err(), SessionError::NotFound(_)), "not bo's session");

    for _ in 0..5 {
        w.clock.advance(3 * MIN);
        w.sessions.touch(&busy.id).await.unwrap();
        w.sessions.touch(&other.id).await.unwrap();
    }
    let report = w.sessions.reap().await.unwrap();
    assert_eq!(report.ended, vec![(idle.id.clone(), EndReason::Idle)]);
    let gone = w.sessions.get(&idle.id).await.unwrap();
    assert_eq!((gone.phase, gone.end_reason), (Phase::Ended, Some(EndReason::Idle)));
    assert!(!w.runtime.sessions().contains(&idle.id), "its environment is removed");

    let extended = w.sessions.extend(&busy.id, "ann").await.unwrap();
    assert_eq!(extended.expires_at, busy.expires_at.map(|e| e + 15 * MIN));
    let err = w.sessions.extend(&busy.id, "ann").await.unwrap_err();
    assert!(err.to_string().contains("cannot be extended further"), "{err}");

    // 15 minutes gone; bo's session expires at 30, ann's extended one at 45.
    w.clock.advance(15 * MIN);
    w.sessions.touch(&busy.id).await.unwrap();
    w.sessions.touch(&other.id).await.unwrap();
    let report = w.sessions.reap().await.unwrap();
    assert_eq!(report.ended, vec![(other.id.clone(), EndReason::Expired)]);
    assert_eq!(w.runtime.sessions(), vec![busy.id.clone()]);
    let ended = w.sessions.end_owned(&other.id, "bo").await.unwrap();
    assert_eq!(ended.end_reason, Some(EndReason::Expired), "ending an ended session changes nothing");
}

#[tokio::test]
async fn a_warm_pool_hands_over_ready_environments_and_refills() {
    let w = world(policy(1, 1)).await;
    w.sessions.set_lab(lab("pooled", 2));
    assert_eq!(w.sessions.fill_pool("pooled").await.unwrap(), 2);
    assert_eq!(w.sessions.fill_pool("pooled").await.unwrap(), 0, "full already");
    let pool: Vec<String> = w.runtime.sessions();
    assert_eq!(pool.len(), 2);

    let got = w.sessions.start("ann", "pooled").await.unwrap();
    assert!(got.from_pool && pool.contains(&got.session.id), "{got:?}");
    assert_eq!(got.session.owner.as_deref(), Some("ann"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while w.runtime.sessions().len() < 3 {
        assert!(Instant::now() < deadline, "the pool was not refilled");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(w.sessions.store().pooled("pooled").await.unwrap().len(), 2);
    // Pool entries hold no seat: the one seat is ann's.
    assert!(matches!(w.sessions.start("bo", "lab-a").await.unwrap_err(), SessionError::Full { .. }));

    // The lab's pool shrinks: the reaper ends the extra entry, not ann's.
    w.sessions.set_lab(lab("pooled", 1));
    let report = w.sessions.reap().await.unwrap();
    assert_eq!(report.trimmed_from_pools.len(), 1, "{report:?}");
    assert_eq!(w.sessions.store().pooled("pooled").await.unwrap().len(), 1);
    assert_eq!(w.runtime.sessions().len(), 2, "ann's session and one pool entry");
}

#[tokio::test]
async fn a_restart_adopts_known_environments_removes_orphans_and_ends_lost_sessions() {
    let w = world(policy(10, 5)).await;
    let kept = w.sessions.start("ann", "lab-a").await.unwrap().session;
    let lost = w.sessions.start("ann", "lab-b").await.unwrap().session;
    w.runtime.vanish(&lost.id);
    w.runtime.plant(EnvironmentSpec { session: "sorphan".into(), lab: "lab-a".into(), owner: "x".into(), machines: vec![], egress: vec![] });

    // A new manager on the same store and engine: what a restart sees.
    let restarted = Sessions::with_clock(w.sessions.store().clone(), w.runtime.clone(), policy(10, 5), w.clock.clone());
    restarted.set_lab(lab("lab-a", 0));
    let report = restarted.reconcile().await.unwrap();
    assert_eq!(report.adopted, vec![kept.id.clone()]);
    assert_eq!(report.removed_orphans, vec!["sorphan".to_owned()]);
    assert_eq!(report.lost, vec![lost.id.clone()]);
    assert_eq!(w.runtime.sessions(), vec![kept.id.clone()]);
    assert_eq!(restarted.get(&kept.id).await.unwrap().phase, Phase::Running);
    let gone = restarted.get(&lost.id).await.unwrap();
    assert_eq!((gone.phase, gone.end_reason), (Phase::Ended, Some(EndReason::Lost)));
    let resumed = restarted.start("ann", "lab-a").await.unwrap();
    assert!(resumed.resumed && resumed.session.id == kept.id, "the adopted session is the learner's still");
}

#[tokio::test]
async fn runtime_faults_leave_nothing_behind_and_removal_is_retried() {
    let w = world(policy(10, 5)).await;
    w.runtime.fail_create.store(true, Ordering::SeqCst);
    let err = w.sessions.start("ann", "lab-a").await.unwrap_err();
    assert!(matches!(err, SessionError::Runtime(_)), "{err:?}");
    let failed = w.sessions.store().sessions_of("ann", false).await.unwrap();
    assert_eq!((failed.len(), failed[0].phase), (1, Phase::Failed));
    assert!(failed[0].error.as_deref().unwrap().contains("unreachable"), "{failed:?}");
    assert!(w.runtime.sessions().is_empty());

    w.runtime.fail_create.store(false, Ordering::SeqCst);
    let s = w.sessions.start("ann", "lab-a").await.unwrap().session;
    w.runtime.fail_destroy.store(true, Ordering::SeqCst);
    let ending = w.sessions.end_owned(&s.id, "ann").await.unwrap();
    assert_eq!(ending.phase, Phase::Ending, "not marked gone while its environment is still there");
    assert_eq!(w.sessions.reap().await.unwrap().removed, Vec::<String>::new());
    w.runtime.fail_destroy.store(false, Ordering::SeqCst);
    assert_eq!(w.sessions.reap().await.unwrap().removed, vec![s.id.clone()]);
    assert_eq!(w.sessions.get(&s.id).await.unwrap().phase, Phase::Ended);
    assert!(w.runtime.sessions().is_empty());
}

#[tokio::test]
async fn a_kept_workspace_comes_back_in_the_learners_next_session() {
    let w = world(policy(10, 5)).await;
    let mut keeping = lab("keeps", 0);
    keeping.workspace = Some(WorkspacePersistence { machine: "main".into(), path: "/workspace".into(), max_bytes: 1 << 20 });
    w.sessions.set_lab(keeping);

    let first = w.sessions.start("ann", "keeps").await.unwrap();
    assert_eq!(first.workspace, WorkspaceRestore::Nothing);
    w.runtime.write_file(&first.session.id, "main", "/workspace/notes.txt", b"mine", 0o644).await.unwrap();
    w.runtime.write_file(&first.session.id, "main", "/etc/motd", b"not kept", 0o644).await.unwrap();
    w.sessions.end_owned(&first.session.id, "ann").await.unwrap();

    let second = w.sessions.start("ann", "keeps").await.unwrap();
    assert_eq!(second.workspace, WorkspaceRestore::Restored);
    assert_ne!(second.session.id, first.session.id);
    let notes = w.runtime.read_file(&second.session.id, "main", "/workspace/notes.txt", 100).await.unwrap();
    assert_eq!(notes.data.0, b"mine");
    assert!(w.runtime.read_file(&second.session.id, "main", "/etc/motd", 100).await.is_err(), "only the workspace is kept");
    let other = w.sessions.start("bo", "keeps").await.unwrap();
    assert_eq!(other.workspace, WorkspaceRestore::Nothing, "nobody else's work");
}

#[tokio::test]
async fn unknown_labs_and_other_learners_sessions_are_refused() {
    let w = world(policy(10, 5)).await;
    let err = w.sessions.start("ann", "no-such-lab").await.unwrap_err();
    assert_eq!(err.to_string(), "there is no lab `no-such-lab`");
    let s = w.sessions.start("ann", "lab-a").await.unwrap().session;
    assert!(matches!(w.sessions.end_owned(&s.id, "bo").await.unwrap_err(), SessionError::NotFound(_)));
    assert_eq!(w.sessions.get(&s.id).await.unwrap().phase, Phase::Running, "bo could not end it");
}
