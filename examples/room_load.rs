//! 100 participants in one room through the embedded emulator on loopback: one publishes a
//! microphone (Opus, a packet every 20 ms) and a camera (the H.264 test pattern), every other
//! one pulls both. Prints the join time, the media lost on the way to each subscriber, the
//! process's CPU time and its peak resident memory.
//!
//! ```sh
//! cargo run --release --example room_load --features room                 # 100 participants, 1,500 audio packets
//! cargo run --release --example room_load --features room -- 50 500       # 50 participants, 500 audio packets
//! cargo run --release --example room_load --features room -- 100 1500 128 96 15   # and a larger, faster video
//! ```
//!
//! Everything runs in this one process: the emulator (the SFU: one str0m peer per session,
//! forwarding every packet to each subscriber), the room's host peer, and every participant's
//! `RoomPeer`, so the CPU and memory figures are the whole system's, on whatever cores the
//! machine has. Loss is counted per subscriber over a fixed window: after the joins and a
//! warm-up (every subscriber has received both tracks), the publisher sends exactly `packets`
//! audio packets and the matching number of video frames, then stops; what each subscriber
//! receives until a drain period ends is compared with what was sent. An Opus frame is one RTP
//! packet, so audio loss is packet loss; a video frame is lost when any of its packets is, so
//! video frame loss is an upper bound of its packet loss. CPU time is read from
//! `/proc/self/stat` and the peak resident set (`VmHWM`) from `/proc/self/status` (Linux).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use calls_emulator::Emulator;
use cloudflare_calls::peer::{FrameCodec, OPUS_SILENCE_20MS, TestPattern};
use cloudflare_calls::room::{MemoryStore, RoomPeer};
use cloudflare_calls::{Client, Config};

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// What to run.
#[derive(Clone, Debug)]
pub struct Load {
    /// Participants in the room, the publisher included.
    pub participants: usize,
    /// Audio packets (20 ms each) the publisher sends in the measured window.
    pub packets: u64,
    /// The test pattern's size in pixels (multiples of 16).
    pub video: (u32, u32),
    /// Video frames per second.
    pub fps: u32,
    /// Joins in flight at once.
    pub concurrent_joins: usize,
}

impl Default for Load {
    fn default() -> Self {
        Self {
            participants: 100,
            packets: 1_500,
            video: (64, 48),
            fps: 10,
            concurrent_joins: 8,
        }
    }
}

/// Loss over the subscribers of one track.
#[derive(Clone, Debug, Default)]
pub struct Loss {
    /// Frames (audio: packets) sent in the window.
    pub sent: u64,
    /// Received by each subscriber.
    pub received: Vec<u64>,
    /// Dropped by subscribers' full frame buffers (counted, not lost on the network).
    pub dropped: u64,
}

impl Loss {
    /// Lost by all subscribers together, in percent of what they should have received.
    pub fn total_percent(&self) -> f64 {
        let want = self.sent * self.received.len() as u64;
        let got: u64 = self.received.iter().map(|r| (*r).min(self.sent)).sum();
        percent(want - got, want)
    }

    /// The worst subscriber's loss, in percent.
    pub fn worst_percent(&self) -> f64 {
        let fewest = self.received.iter().copied().min().unwrap_or(0);
        percent(self.sent - fewest.min(self.sent), self.sent)
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// What a run measured.
#[derive(Clone, Debug)]
pub struct Report {
    /// Participants joined (publisher included).
    pub participants: usize,
    /// Wall time from the first join to the last one done.
    pub joins: Duration,
    /// The median single join.
    pub join_median: Duration,
    /// The slowest single join.
    pub join_max: Duration,
    /// Process CPU time (user + system) during the joins.
    pub join_cpu: Duration,
    /// Audio packets: loss per subscriber.
    pub audio: Loss,
    /// Video frames: loss per subscriber.
    pub video: Loss,
    /// Wall time of the measured window (sending, not the drain).
    pub media: Duration,
    /// Process CPU time during that window.
    pub media_cpu: Duration,
    /// Peak resident memory of the process (`VmHWM`), KiB.
    pub peak_rss_kib: u64,
    /// Resident memory when everyone had joined, KiB.
    pub joined_rss_kib: u64,
}

/// Where a run is: readers count frames only while the window is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Warm,
    Open,
    Closed,
}

/// Runs `load` against `emulator` and returns the figures.
pub async fn run(emulator: &Emulator, load: &Load) -> Result<Report, Failure> {
    let client = Client::new(Config::new(
        emulator.sfu_base_url(),
        emulator.app_id(),
        emulator.app_secret(),
    ))?;
    let room = client.rooms(MemoryStore::new()).create().send().await?;
    let cpu_start = cpu_time()?;
    let started = Instant::now();

    // The publisher first, so that every other participant pulls its tracks as it joins.
    let first = Instant::now();
    let stage = room.join("stage").connect(client.peer()).await?;
    let mut times = vec![first.elapsed()];
    let tracks = stage
        .publish_tracks([
            ("mic".to_owned(), FrameCodec::Opus),
            ("cam".to_owned(), FrameCodec::H264),
        ])
        .await?;
    let (mic, cam) = (tracks[0].clone(), tracks[1].clone());

    // The subscribers, a few joins at a time: each is a session, ICE, DTLS, SCTP, two
    // channels, a pull and an announcement.
    let gate = Arc::new(tokio::sync::Semaphore::new(load.concurrent_joins.max(1)));
    let mut joining = tokio::task::JoinSet::new();
    for i in 1..load.participants {
        let (room, client, gate) = (room.clone(), client.clone(), gate.clone());
        joining.spawn(async move {
            let _permit = gate.acquire_owned().await?;
            let start = Instant::now();
            let peer = room.join(format!("p{i}")).connect(client.peer()).await?;
            Ok::<_, Failure>((peer, start.elapsed()))
        });
    }
    let mut subscribers: Vec<RoomPeer> = Vec::new();
    while let Some(joined) = joining.join_next().await {
        let (peer, took) = joined??;
        subscribers.push(peer);
        times.push(took);
    }
    let joins = started.elapsed();
    let join_cpu = cpu_time()?.saturating_sub(cpu_start);
    let joined_rss_kib = status_kib("VmRSS:")?;
    times.sort();

    // Readers: each subscriber counts the frames of both tracks that arrive while the window
    // is open, and returns its counts when it closes.
    let (phase, phases) = tokio::sync::watch::channel(Phase::Warm);
    let first_frames = Arc::new(AtomicU64::new(0));
    let mut readers = tokio::task::JoinSet::new();
    for peer in &mut subscribers {
        let pulled = peer.take_tracks();
        if pulled.len() != 2 {
            return Err(format!("a subscriber pulled {} tracks, not 2", pulled.len()).into());
        }
        for mut track in pulled {
            let (mut phases, first_frames) = (phases.clone(), first_frames.clone());
            readers.spawn(async move {
                let (mut seen, mut received) = (false, 0u64);
                loop {
                    tokio::select! {
                        frame = track.recv() => {
                            if frame.is_none() {
                                break;
                            }
                            if !seen {
                                seen = true;
                                first_frames.fetch_add(1, Ordering::Relaxed);
                            }
                            if *phases.borrow() == Phase::Open {
                                received += 1;
                            }
                        }
                        changed = phases.changed() => {
                            if changed.is_err() || *phases.borrow() == Phase::Closed {
                                break;
                            }
                        }
                    }
                }
                (track.name() == "mic", received, track.dropped())
            });
        }
    }

    // Warm-up: media flows until every subscriber has had a frame of each track, then a
    // pause long enough for anything in flight to arrive before the window opens.
    let subscriptions = readers.len() as u64;
    let mut pattern = TestPattern::new(load.video.0, load.video.1)?;
    let audio_every = Duration::from_millis(20);
    let video_every = Duration::from_secs(1) / load.fps.max(1);
    let warm = Instant::now();
    let mut tick = tokio::time::interval(audio_every);
    let mut last_video = Instant::now() - video_every;
    while first_frames.load(Ordering::Relaxed) < subscriptions {
        if warm.elapsed() > Duration::from_secs(60) {
            return Err(format!(
                "only {} of {subscriptions} subscriptions had a frame after 60 s",
                first_frames.load(Ordering::Relaxed)
            )
            .into());
        }
        tick.tick().await;
        mic.send_frame(OPUS_SILENCE_20MS.to_vec(), audio_every)
            .await?;
        if last_video.elapsed() >= video_every {
            last_video = Instant::now();
            cam.send_frame(pattern.next_frame(), video_every).await?;
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    // The window: exactly `packets` audio packets and the video frames of the same length,
    // each paced by its own clock.
    phase.send_replace(Phase::Open);
    let cpu_before = cpu_time()?;
    let window = Instant::now();
    let video_frames = (audio_every * load.packets as u32).as_nanos() / video_every.as_nanos();
    let video_frames = video_frames as u64;
    let audio_task = {
        let mic = mic.clone();
        let packets = load.packets;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(audio_every);
            for _ in 0..packets {
                tick.tick().await;
                mic.send_frame(OPUS_SILENCE_20MS.to_vec(), audio_every)
                    .await?;
            }
            Ok::<_, cloudflare_calls::peer::PeerError>(())
        })
    };
    let video_task = {
        let cam = cam.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(video_every);
            for _ in 0..video_frames {
                tick.tick().await;
                cam.send_frame(pattern.next_frame(), video_every).await?;
            }
            Ok::<_, cloudflare_calls::peer::PeerError>(())
        })
    };
    audio_task.await??;
    video_task.await??;
    let media = window.elapsed();
    let media_cpu = cpu_time()?.saturating_sub(cpu_before);
    // Drain: what is still queued anywhere arrives, then the window closes.
    tokio::time::sleep(Duration::from_secs(2)).await;
    phase.send_replace(Phase::Closed);

    let mut audio = Loss {
        sent: load.packets,
        ..Loss::default()
    };
    let mut video = Loss {
        sent: video_frames,
        ..Loss::default()
    };
    while let Some(counted) = readers.join_next().await {
        let (is_audio, received, dropped) = counted?;
        let loss = if is_audio { &mut audio } else { &mut video };
        loss.received.push(received);
        loss.dropped += dropped;
    }
    let peak_rss_kib = status_kib("VmHWM:")?;

    for peer in subscribers {
        peer.leave().await?;
    }
    stage.leave().await?;
    room.close().await?;
    Ok(Report {
        participants: load.participants,
        joins,
        join_median: times[times.len() / 2],
        join_max: times[times.len() - 1],
        join_cpu,
        audio,
        video,
        media,
        media_cpu,
        peak_rss_kib,
        joined_rss_kib,
    })
}

/// User plus system CPU time of this process so far.
pub fn cpu_time() -> Result<Duration, Failure> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name, which is in parentheses and may contain spaces:
    // state is field 3, utime 14 and stime 15.
    let rest = stat.rsplit_once(')').ok_or("no ')' in /proc/self/stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> Result<u64, Failure> {
        Ok(fields.get(i).ok_or("short /proc/self/stat")?.parse()?)
    };
    // The kernel reports these in USER_HZ, 100 per second on every Linux ABI.
    let total = ticks(11)? + ticks(12)?;
    Ok(Duration::from_millis(total * 10))
}

/// A `kB` line of `/proc/self/status`, such as `VmHWM:` (peak resident set).
pub fn status_kib(key: &str) -> Result<u64, Failure> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with(key))
        .ok_or_else(|| format!("no {key} in /proc/self/status"))?;
    Ok(line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?)
}

/// Prints `report` as a Markdown table.
pub fn print(load: &Load, report: &Report) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let cpu_share = |cpu: Duration, wall: Duration| cpu.as_secs_f64() * 100.0 / wall.as_secs_f64();
    println!(
        "{} participants: 1 publishes Opus ({} packets, 20 ms apart) and a {}x{} H.264 test pattern at {} fps; {} subscribe to both",
        report.participants,
        load.packets,
        load.video.0,
        load.video.1,
        load.fps,
        report.participants - 1
    );
    println!();
    println!("| figure | value |");
    println!("|---|---|");
    println!(
        "| all joins (wall, {} at a time) | {:.1} s |",
        load.concurrent_joins,
        report.joins.as_secs_f64()
    );
    println!(
        "| one join: median / slowest | {:.0} ms / {:.0} ms |",
        ms(report.join_median),
        ms(report.join_max)
    );
    println!(
        "| CPU during the joins | {:.1} s ({:.0}% of one core) |",
        report.join_cpu.as_secs_f64(),
        cpu_share(report.join_cpu, report.joins)
    );
    for (what, loss) in [
        ("audio packets", &report.audio),
        ("video frames", &report.video),
    ] {
        println!(
            "| {what} lost: all subscribers / worst one | {:.3}% / {:.2}% ({} sent to each of {}, {} dropped by full buffers) |",
            loss.total_percent(),
            loss.worst_percent(),
            loss.sent,
            loss.received.len(),
            loss.dropped
        );
    }
    println!(
        "| CPU while media flows | {:.0}% of one core ({:.1} s in {:.1} s) |",
        cpu_share(report.media_cpu, report.media),
        report.media_cpu.as_secs_f64(),
        report.media.as_secs_f64()
    );
    println!(
        "| resident memory: all joined / peak | {:.0} MiB / {:.0} MiB |",
        report.joined_rss_kib as f64 / 1024.0,
        report.peak_rss_kib as f64 / 1024.0
    );
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let mut args = std::env::args().skip(1);
    let mut load = Load::default();
    if let Some(n) = args.next() {
        load.participants = n.parse()?;
    }
    if let Some(n) = args.next() {
        load.packets = n.parse()?;
    }
    if let (Some(w), Some(h), Some(fps)) = (args.next(), args.next(), args.next()) {
        load.video = (w.parse()?, h.parse()?);
        load.fps = fps.parse()?;
    }
    let emulator = Emulator::start().await?;
    let report = run(&emulator, &load).await?;
    print(&load, &report);
    Ok(())
}
