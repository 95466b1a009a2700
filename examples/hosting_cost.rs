//! What one backend process spends per room it hosts, idle: memory, CPU, threads, sockets, SFU
//! sessions. Each step creates rooms (`rooms.create().send()`, as an app does) up to the next
//! count, lets them settle, then reads this process's figures from `/proc` (Linux) over an idle
//! window, and prints a row.
//!
//! ```sh
//! cargo build --release -p calls-emulator
//! cargo run --release --example hosting_cost --features room -- 100 1000
//! ```
//!
//! The emulator runs in its own process (the `calls-emulator` binary beside this one in
//! `target/`), so the figures are the backend's alone, as they would be against Cloudflare. A
//! hosted room is its room channel on one of the process's host peers (each peer is one SFU
//! session, one WebRTC connection and one UDP socket, carrying up to 128 rooms) and its host
//! task.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cloudflare_calls::room::MemoryStore;
use cloudflare_calls::{Client, Config};

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Rooms created at once.
const CONCURRENT: usize = 64;
/// How long the rooms idle before and while the CPU is measured.
const SETTLE: Duration = Duration::from_secs(5);
const IDLE: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let counts: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let counts = if counts.is_empty() {
        vec![100, 1000]
    } else {
        counts
    };
    let (mut emulator, config) = emulator()?;
    let client = Client::new(config)?;
    let rooms = client.rooms(MemoryStore::new());

    let empty = Process::read()?;
    println!(
        "| rooms | RSS | per room | CPU idle | wake-ups/s | threads | sockets | SFU sessions | create time |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let (cpu, wakeups) = idle().await?;
    println!(
        "| 0 | {:.0} MiB | | {cpu:.1}% | {wakeups:.0} | {} | {} | 0 | |",
        mib(empty.rss_kib),
        empty.threads,
        empty.sockets
    );
    let mut hosted = Vec::new();
    for count in counts {
        let started = Instant::now();
        let semaphore = Arc::new(tokio::sync::Semaphore::new(CONCURRENT));
        let mut creating = tokio::task::JoinSet::new();
        for _ in hosted.len()..count {
            let (rooms, semaphore) = (rooms.clone(), semaphore.clone());
            creating.spawn(async move {
                let _turn = semaphore.acquire_owned().await;
                rooms
                    .create()
                    .empty_timeout(Duration::from_secs(86_400))
                    .send()
                    .await
            });
        }
        while let Some(room) = creating.join_next().await {
            hosted.push(room??);
        }
        let took = started.elapsed();
        tokio::time::sleep(SETTLE).await;
        let (cpu, wakeups) = idle().await?;
        let now = Process::read()?;
        let per_room = (now.rss_kib - empty.rss_kib) as f64 / count as f64;
        let mut sessions = std::collections::HashSet::new();
        for room in &hosted {
            sessions.insert(room.snapshot().await?.room.host_session_id);
        }
        println!(
            "| {count} | {:.0} MiB | {per_room:.0} KiB | {cpu:.1}% | {wakeups:.0} | {} | {} | {} | {:.1} s |",
            mib(now.rss_kib),
            now.threads,
            now.sockets,
            sessions.len(),
            took.as_secs_f64()
        );
    }
    for room in hosted {
        let _ = room.close().await;
    }
    let _ = emulator.kill();
    Ok(())
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Over [`IDLE`]: this process's share of one core, in percent, and how many times a second
/// its threads went to sleep and woke. The share depends on the machine (the cost of a timer
/// or a wake-up differs between hosts many times over); the wake-ups do not.
async fn idle() -> Result<(f64, f64), Failure> {
    let (ticks, switches) = (Process::cpu_ticks()?, Process::sleeps()?);
    let started = Instant::now();
    tokio::time::sleep(IDLE).await;
    let seconds = started.elapsed().as_secs_f64();
    let ticks = Process::cpu_ticks()? - ticks;
    let switches = Process::sleeps()? - switches;
    // Linux counts in USER_HZ, 100 per second on every architecture it runs on.
    Ok((
        ticks as f64 / 100.0 / seconds * 100.0,
        switches as f64 / seconds,
    ))
}

/// This process as `/proc` shows it.
struct Process {
    rss_kib: u64,
    threads: u64,
    sockets: usize,
}

impl Process {
    fn read() -> Result<Self, Failure> {
        let status = std::fs::read_to_string("/proc/self/status")?;
        let field = |name: &str| -> Result<u64, Failure> {
            let line = status
                .lines()
                .find(|l| l.starts_with(name))
                .ok_or_else(|| format!("no {name} in /proc/self/status"))?;
            let value = line[name.len()..].split_whitespace().next().unwrap_or("");
            Ok(value.parse()?)
        };
        let sockets = std::fs::read_dir("/proc/self/fd")?
            .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
            .filter(|target| target.to_string_lossy().starts_with("socket:"))
            .count();
        Ok(Self {
            rss_kib: field("VmRSS:")?,
            threads: field("Threads:")?,
            sockets,
        })
    }

    /// How many times the process's threads went to sleep, summed (each one a wake-up later).
    fn sleeps() -> Result<u64, Failure> {
        let mut total = 0;
        for task in std::fs::read_dir("/proc/self/task")? {
            let status = std::fs::read_to_string(task?.path().join("status"))?;
            let switches = status
                .lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .ok_or("no voluntary_ctxt_switches in /proc/self/task/*/status")?;
            total += switches.trim().parse::<u64>()?;
        }
        Ok(total)
    }

    /// User and system time, in clock ticks.
    fn cpu_ticks() -> Result<u64, Failure> {
        let stat = std::fs::read_to_string("/proc/self/stat")?;
        // The fields after the command name, which is in parentheses and may hold spaces.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .ok_or("malformed /proc/self/stat")?
            .1
            .split_whitespace()
            .collect();
        let (utime, stime): (u64, u64) = (fields[11].parse()?, fields[12].parse()?);
        Ok(utime + stime)
    }
}

/// Starts `calls-emulator` from this binary's target folder and reads how to reach it.
fn emulator() -> Result<(Child, Config), Failure> {
    let exe = std::env::current_exe()?;
    let target = exe
        .parent()
        .and_then(|examples| examples.parent())
        .ok_or("no target folder")?;
    let binary = target.join("calls-emulator");
    let mut child = Command::new(&binary)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            format!(
                "{}: {e} (run `cargo build --release -p calls-emulator` first)",
                binary.display()
            )
        })?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut vars = std::collections::HashMap::new();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if let Some((name, value)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) {
            vars.insert(name.to_owned(), value.to_owned());
        }
        if vars.contains_key("CALLS_TURN_KEY_TOKEN") {
            break;
        }
    }
    let var = |name: &str| vars.get(name).cloned().ok_or(format!("no {name}"));
    let config = Config::new(
        var("CALLS_API")?,
        var("CALLS_APP_ID")?,
        var("CALLS_APP_SECRET")?,
    );
    Ok((child, config))
}
