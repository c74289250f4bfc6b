//! docs/decisions.md#the-cron-syncs-every-child and docs/decisions.md#shared-jobs: one tick enqueues every child once
//! across instances, jobs are shared, and a job whose worker died is taken over.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use ds_agent::domain::ChildId;

use crate::bus_probe::BusProbe;
use crate::helpers::{eventually, spawn_app, TestApp};

async fn last_sync(app: &TestApp, child: ChildId) -> Option<String> {
    let document = app.userauth_document(child).await?;
    document.get_document("fitbit").ok()?.get_str("last_sync").ok().map(str::to_string)
}

#[tokio::test]
async fn two_instances_and_one_tick_sync_every_child_exactly_once() {
    let first = spawn_app().await;
    let second = first.spawn_peer(&[]).await;
    let mut children = Vec::new();
    for _ in 0..6 {
        children.push(first.connect_child().await.0);
    }
    let mut probe = BusProbe::bind(&["fitbit.lastsync"]).await;

    let scheduled = Utc::now();
    let (a, b) = tokio::join!(
        first.state.jobs.tick(&first.state.userauths, scheduled),
        second.state.jobs.tick(&second.state.userauths, scheduled)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.or(b), Some(6), "one instance enqueued every child");
    assert!(a.is_none() || b.is_none(), "the other one did not: {a:?} {b:?}");

    let all_synced = eventually(Duration::from_secs(60), || async {
        for child in &children {
            if last_sync(&first, *child).await.is_none() {
                return false;
            }
        }
        true
    })
    .await;
    assert!(all_synced, "every child synced");

    let mut syncs: HashMap<String, usize> = HashMap::new();
    while let Some(message) = probe.next(Duration::from_secs(10)).await {
        let child = message.body["fitbit"]["child_id"].as_str().unwrap_or_default().to_string();
        *syncs.entry(child).or_default() += 1;
    }
    for child in &children {
        assert_eq!(syncs.get(&child.to_string()), Some(&1), "child {child} synced once: {syncs:?}");
    }
    assert_eq!(first.state.jobs.depth().await.unwrap(), 0, "the queue is empty again");

    // The same tick again (a late instance) enqueues nothing.
    assert_eq!(first.state.jobs.tick(&first.state.userauths, scheduled).await.unwrap(), None);
}

#[tokio::test]
async fn a_job_whose_worker_died_is_reclaimed_and_finished() {
    let app = spawn_app().await;
    let (child, _) = app.connect_child().await;
    app.stop();
    tokio::time::sleep(Duration::from_millis(600)).await;

    // A worker took the job and died before acknowledging it.
    let queue = &app.state.jobs;
    queue.ensure_group().await.unwrap();
    assert_eq!(queue.enqueue(&[child], 0).await.unwrap(), 1);
    let taken = queue.read("worker-that-died", 10).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].child, child);

    // Silent for 3 s counts as dead: long enough that a busy machine's pauses in the survivor's own heartbeat do not.
    let survivor = app.spawn_peer(&[("SYNC_RECLAIM_AFTER_SECS", "3")]).await;
    let synced = eventually(Duration::from_secs(60), || async { last_sync(&survivor, child).await.is_some() }).await;
    assert!(synced, "the job was taken over and finished");
    assert!(eventually(Duration::from_secs(60), || async { queue.depth().await.unwrap() == 0 }).await);
}

#[tokio::test]
async fn the_cron_expression_starts_ticks_that_sync_children() {
    let app = crate::helpers::spawn_app_with(&[("EXPRESSION_AUTO_SYNC", "*/2 * * * * *")]).await;
    let (child, _) = app.connect_child().await;
    let synced = eventually(Duration::from_secs(60), || async { last_sync(&app, child).await.is_some() }).await;
    assert!(synced, "a tick enqueued the child and a worker synced it");
}
