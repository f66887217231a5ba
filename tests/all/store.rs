//! The store on SQLite and, when `DATABASE_URL` is set, on PostgreSQL: the
//! same assertions against both.

use proctor::{
    sessions::state::{EndReason, Event, Lifetime, Phase, Session, apply},
    store::{QueuePlace, Store, StoreError, StoredPlugin},
};
use proctor_tests::databases::{TestStore, stores};

fn learner_session(id: &str, owner: &str, at: i64) -> Session {
    Session::starting(id.into(), "lab-a".into(), Some(owner.into()), at)
}

#[tokio::test]
async fn sessions_round_trip_and_only_one_concurrent_change_wins() {
    for TestStore { backend, store } in stores("sessions_round_trip_and_only_one_concurrent_change_wins").await {
        let s = learner_session("s1", "ann", 1_000);
        store.insert_session(&s).await.unwrap();
        assert_eq!(store.session("s1").await.unwrap().as_ref(), Some(&s), "{backend}");
        assert_eq!(store.session("nope").await.unwrap(), None, "{backend}");

        let ttl = std::time::Duration::from_secs(3600);
        let running = apply(&s, Event::Ready { at: 2_000, ttl }).unwrap();
        assert!(store.update_session(&running).await.unwrap(), "{backend}");
        // A second transition from the same read loses.
        let rival = apply(&s, Event::End { at: 2_001, reason: EndReason::Admin }).unwrap();
        assert!(!store.update_session(&rival).await.unwrap(), "{backend}: a stale update must not win");
        let stored = store.session("s1").await.unwrap().unwrap();
        assert_eq!((stored.phase, stored.expires_at), (Phase::Running, Some(3_602_000)), "{backend}");

        let extended = apply(
            &stored,
            Event::Extend {
                at: 3_000,
                lifetime: Lifetime { ttl, extend_by: ttl, max_extensions: 1, max_total: ttl * 3 },
            },
        )
        .unwrap();
        assert!(store.update_session(&extended).await.unwrap());
        assert_eq!(store.session("s1").await.unwrap().unwrap(), extended, "{backend}: every field persists");

        let pool_entry = Session::starting("p1".into(), "lab-a".into(), None, 1_500);
        store.insert_session(&pool_entry).await.unwrap();
        store.insert_session(&learner_session("s2", "bo", 1_600)).await.unwrap();
        let ended = apply(&apply(&learner_session("s3", "ann", 500), Event::End { at: 600, reason: EndReason::Learner }).unwrap(), Event::Removed { at: 700 }).unwrap();
        store.insert_session(&ended).await.unwrap();

        let ids = |v: Vec<Session>| v.into_iter().map(|s| s.id).collect::<Vec<_>>();
        assert_eq!(ids(store.live_sessions().await.unwrap()), ["s1", "p1", "s2"], "{backend}");
        assert_eq!(ids(store.sessions_of("ann", true).await.unwrap()), ["s1"], "{backend}");
        assert_eq!(ids(store.sessions_of("ann", false).await.unwrap()), ["s1", "s3"], "{backend}: newest first");
        assert_eq!(ids(store.pooled("lab-a").await.unwrap()), ["p1"], "{backend}");
        assert_eq!(store.count_learner_sessions().await.unwrap(), 2, "{backend}: pool entries are not counted");
        assert_eq!(store.next_expiry().await.unwrap(), extended.expires_at, "{backend}");
        store.insert_session(&s).await.expect_err("ids are unique");
    }
}

#[tokio::test]
async fn the_queue_keeps_places_in_order_of_first_asking() {
    for TestStore { backend, store } in stores("the_queue_keeps_places_in_order_of_first_asking").await {
        assert_eq!(store.enqueue("ann", "lab-a", 10).await.unwrap(), QueuePlace { position: 1, waiting: 1 }, "{backend}");
        assert_eq!(store.enqueue("bo", "lab-b", 20).await.unwrap(), QueuePlace { position: 2, waiting: 2 });
        assert_eq!(store.enqueue("cy", "lab-a", 30).await.unwrap(), QueuePlace { position: 3, waiting: 3 });
        // Asking again keeps the place.
        assert_eq!(store.enqueue("bo", "lab-b", 40).await.unwrap(), QueuePlace { position: 2, waiting: 3 }, "{backend}");
        store.dequeue("ann").await.unwrap();
        assert_eq!(store.queue_place("cy").await.unwrap(), Some(QueuePlace { position: 2, waiting: 2 }), "{backend}");
        assert_eq!(store.queue_place("ann").await.unwrap(), None);
        // cy last asked at 30, bo at 40: only cy stopped asking before 35.
        assert_eq!(store.prune_queue(35).await.unwrap(), 1, "{backend}");
        assert_eq!(store.queue_place("bo").await.unwrap(), Some(QueuePlace { position: 1, waiting: 1 }), "{backend}");
    }
}

#[tokio::test]
async fn workspaces_keep_every_byte_per_learner_and_lab() {
    for TestStore { backend, store } in stores("workspaces_keep_every_byte_per_learner_and_lab").await {
        let archive: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
        store.save_workspace("ann", "lab-a", &archive, 1).await.unwrap();
        store.save_workspace("ann", "lab-b", b"other lab", 1).await.unwrap();
        assert_eq!(store.workspace("ann", "lab-a").await.unwrap().as_deref(), Some(&archive[..]), "{backend}");
        store.save_workspace("ann", "lab-a", b"\0replaced\0", 2).await.unwrap();
        assert_eq!(store.workspace("ann", "lab-a").await.unwrap().as_deref(), Some(&b"\0replaced\0"[..]), "{backend}");
        assert_eq!(store.workspace("bo", "lab-a").await.unwrap(), None, "{backend}");
        store.delete_workspace("ann", "lab-a").await.unwrap();
        assert_eq!(store.workspace("ann", "lab-a").await.unwrap(), None, "{backend}");
        assert_eq!(store.workspace("ann", "lab-b").await.unwrap().as_deref(), Some(&b"other lab"[..]), "{backend}");
    }
}

#[tokio::test]
async fn uploaded_plugins_and_settings_by_prefix_are_kept() {
    for TestStore { backend, store } in stores("uploaded_plugins_and_settings_by_prefix_are_kept").await {
        let wasm: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
        let v1 = StoredPlugin { name: "judge_x".into(), version: "1.0.0".into(), digest: "d1".into() };
        store.save_plugin_upload(&v1, &wasm, "ada", 1).await.unwrap();
        store.save_plugin_upload(&StoredPlugin { digest: "other".into(), ..v1.clone() }, b"other", "bo", 2).await.unwrap();
        assert_eq!(store.plugin_uploads().await.unwrap(), std::slice::from_ref(&v1), "the first upload of a version stays: {backend}");
        assert_eq!(store.plugin_wasm("judge_x", "1.0.0").await.unwrap().as_deref(), Some(&wasm[..]), "{backend}");
        assert_eq!(store.plugin_wasm("judge_x", "9.0.0").await.unwrap(), None, "{backend}");

        store.put_setting("plugin:judge_x", "{}", 1).await.unwrap();
        store.put_setting("plugin:judgeAx", "{}", 1).await.unwrap();
        store.put_setting("pluginless", "{}", 1).await.unwrap();
        let keys: Vec<String> = store.settings_with_prefix("plugin:").await.unwrap().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["plugin:judgeAx", "plugin:judge_x"], "{backend}");
        assert_eq!(store.settings_with_prefix("plugin:judge_").await.unwrap().len(), 1, "`_` is no wildcard: {backend}");
    }
}

#[tokio::test]
async fn reopening_keeps_data_and_bad_urls_fail_clearly() {
    let dir = std::env::temp_dir().join(format!("proctor_reopen_{}", std::process::id()));
    let first = Store::open_in(&dir).await.unwrap();
    first.insert_session(&learner_session("kept", "ann", 1)).await.unwrap();
    first.close().await;
    let again = Store::open_in(&dir).await.expect("migrations run once");
    assert!(again.session("kept").await.unwrap().is_some());

    let err = Store::connect("mysql://root@localhost/x").await.unwrap_err();
    assert!(matches!(err, StoreError::UnsupportedUrl(_)), "{err}");
    let err = Store::connect("postgres://ann:s3cret@127.0.0.1:1/none").await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    assert!(!err.to_string().contains("s3cret"), "the password stays out of messages: {err}");
}
