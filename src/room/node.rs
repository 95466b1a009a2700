//! This process as a node that hosts rooms: its beat in the store, and the takeover of the
//! rooms of nodes whose beat lapsed.
//!
//! Every [`Rooms`](super::Rooms) made inside a tokio runtime runs one task that beats every
//! fifth of [`TAKEOVER_AFTER`](super::shared::TAKEOVER_AFTER). Its beat keeps the rooms it
//! hosts its own; a node whose beat lapsed (its process was killed, hung or cut off from the
//! store) loses them to the first node that sees it, which takes each over (see
//! `host::take_over`). A node that learns from its beat that it was taken for dead stops
//! hosting and carries on as a new node. Stores that keep the default of
//! [`Store::beat`](super::Store::beat) never move a room.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::error::Result;
use super::host;
use super::room::Room;
use super::shared::{HostHandle, Shared};

/// Starts the node's task, when there is a runtime to run it. It ends with the last handle
/// on `shared`.
pub(crate) fn start(shared: &Arc<Shared>) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(run(Arc::downgrade(shared)));
    }
}

async fn run(shared: Weak<Shared>) {
    // Rooms whose takeover failed; tried again on the next beat.
    let mut owed: Vec<String> = Vec::new();
    loop {
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if shared.stopping.load(Ordering::Relaxed) {
            return;
        }
        let passive = shared.passive.load(Ordering::Relaxed);
        if !passive || !shared.hosted().is_empty() {
            beat(&shared).await;
        }
        if !passive {
            match shared.store.take_lapsed(&shared.node()).await {
                Ok(taken) => owed.extend(taken),
                Err(e) => tracing::warn!(error = %e, "looking for rooms whose host died"),
            }
        }
        owed.extend(on_lost_peers(&shared).await);
        // At once: their channels then share the host peers' rounds of calls.
        let taking = owed
            .drain(..)
            .filter(|id| !shared.hosted().contains_key(id));
        let taking = taking.map(|id| {
            let room = Room::new(shared.clone(), id.as_str().into());
            async move { (id, host::take_over(room).await) }
        });
        let mut failed = Vec::new();
        for (id, taken) in futures_util::future::join_all(taking).await {
            match taken {
                Ok(Some(handle)) => {
                    shared.hosted().insert(id, handle);
                }
                // Closed, or hosted by another node: not this node's to look after.
                Ok(None) => {
                    if let Err(e) = shared.store.hosts(&shared.node(), &id, false).await {
                        tracing::debug!(room = %id, error = %e, "forgetting a room hosted elsewhere");
                    }
                }
                Err(e) => {
                    tracing::warn!(room = %id, error = %e, "taking a room over");
                    failed.push(id);
                }
            }
        }
        owed = failed;
        let pause = shared.takeover_after() / 5;
        drop(shared);
        tokio::time::sleep(pause).await;
    }
}

/// Stops the hosts whose peer lost its connection to the SFU (the room channel on it reaches
/// nobody) or used up its channel numbers, and returns their rooms, for this node to take
/// over onto another peer as it takes a dead node's: participants follow the room to the new
/// channel as after a takeover.
async fn on_lost_peers(shared: &Arc<Shared>) -> Vec<String> {
    let lost: Vec<(String, HostHandle)> = {
        let mut hosted = shared.hosted();
        let ids: Vec<String> = hosted
            .iter()
            .filter(|(_, handle)| handle.must_move())
            .map(|(id, _)| id.clone())
            .collect();
        ids.into_iter()
            .filter_map(|id| hosted.remove(&id).map(|handle| (id, handle)))
            .collect()
    };
    let (moving, handles): (Vec<String>, Vec<HostHandle>) = lost.into_iter().unzip();
    for id in &moving {
        tracing::warn!(room = %id, "moving the room to another host peer");
    }
    stop_all(handles).await;
    moving
}

/// Stops hosts at once: each closes its channels in its peer's next round.
async fn stop_all(handles: Vec<HostHandle>) {
    futures_util::future::join_all(handles.into_iter().map(HostHandle::stop)).await;
}

/// Beats; when the store took this node for dead, stops hosting and becomes a new node.
async fn beat(shared: &Arc<Shared>) {
    match shared
        .store
        .beat(&shared.node(), shared.takeover_after())
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!("this process was taken for dead: its rooms are hosted elsewhere");
            let handles: Vec<_> = shared.hosted().drain().map(|(_, h)| h).collect();
            stop_all(handles).await;
            shared.renew_node();
        }
        Err(e) => tracing::warn!(error = %e, "beating"),
    }
}

/// Stops this node for a graceful exit: hands its rooms to another node, or closes them when
/// no other node is alive (see [`Rooms::shutdown`](super::Rooms::shutdown)).
pub(crate) async fn shut_down(shared: &Arc<Shared>) -> Result<()> {
    shared.stopping.store(true, Ordering::Relaxed);
    let node = shared.node();
    let handed = shared.store.hand_over(&node).await?;
    let ids: Vec<String> = shared.hosted().keys().cloned().collect();
    if !handed {
        for id in ids {
            let room = Room::new(shared.clone(), id.as_str().into());
            if let Err(e) = room.close().await {
                tracing::warn!(room = %id, error = %e, "closing a room on shutdown");
            }
        }
        return Ok(());
    }
    // Each room stays hosted here until its new host has it: the gap is that host's set-up.
    let deadline = Instant::now() + shared.takeover_after() * 2;
    for id in &ids {
        while Instant::now() < deadline {
            match shared.store.snapshot(id).await {
                Ok(s) if s.room.host_node == node && !s.room.closed => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                _ => break,
            }
        }
    }
    let handles: Vec<_> = shared.hosted().drain().map(|(_, h)| h).collect();
    stop_all(handles).await;
    Ok(())
}
