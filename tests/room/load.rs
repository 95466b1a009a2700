//! 100 participants in one room through the emulator: the media of the one who publishes
//! reaches the 99 others with at most 1% lost. The run is `examples/room_load.rs` with fewer
//! packets than its figures in the README (the debug test profile on 2 cores), and nothing
//! is timed: join time, CPU and memory are printed, not asserted.

#![cfg(feature = "room")]

#[path = "../../examples/room_load.rs"]
#[allow(dead_code)]
mod room_load;

use calls_emulator::Emulator;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_participants_lose_at_most_one_percent() {
    let _heavy = crate::support::heavy::heavy().await;
    let emulator = Emulator::start().await.unwrap();
    let load = room_load::Load {
        participants: 100,
        packets: 250,
        ..room_load::Load::default()
    };
    let report = room_load::run(&emulator, &load).await.unwrap();
    room_load::print(&load, &report);
    assert_eq!(report.audio.received.len(), 99, "{report:?}");
    assert_eq!(report.video.received.len(), 99, "{report:?}");
    assert!(
        report.audio.sent == 250 && report.video.sent > 0,
        "{report:?}"
    );
    for (what, loss) in [("audio", &report.audio), ("video", &report.video)] {
        // The window counts what was sent in it, so nothing can come twice.
        assert!(
            loss.received.iter().all(|r| *r <= loss.sent),
            "{what}: {loss:?}"
        );
        assert!(
            loss.total_percent() <= 1.0,
            "{what}: {:.2}% lost ({loss:?})",
            loss.total_percent()
        );
    }
}
