//! A small headless-Chromium driver for integration tests, speaking the
//! DevTools protocol over a WebSocket.
//!
//! Start each browser test with `if chromium::skip_without_chromium() { return; }`.
//! The browser is looked for at [`CHROMIUM`] (or wherever [`PATH_ENV`] says).
//! On a contributor's machine a missing browser skips the test with a printed
//! reason; `cargo xtask ci` sets [`REQUIRE_ENV`], so in CI it is a failure and a
//! broken install step cannot pass unnoticed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Where the Debian `chromium` package installs the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Names another browser binary than [`CHROMIUM`].
pub const PATH_ENV: &str = "CALLS_CHROMIUM";

/// When set (to anything but `0` or nothing), a missing browser fails the test
/// instead of skipping it. `cargo xtask ci` sets it.
pub const REQUIRE_ENV: &str = "CALLS_REQUIRE_CHROMIUM";

/// The browser binary: [`PATH_ENV`] if set, else [`CHROMIUM`].
pub fn chromium() -> PathBuf {
    std::env::var_os(PATH_ENV)
        .filter(|p| !p.is_empty())
        .map_or_else(|| PathBuf::from(CHROMIUM), PathBuf::from)
}

/// Whether a browser test should return at once because there is no browser.
///
/// Prints why when it skips. Panics instead when [`REQUIRE_ENV`] is set, since
/// a skipped browser test in CI would hide a broken install.
pub fn skip_without_chromium() -> bool {
    let path = chromium();
    if path.is_file() {
        return false;
    }
    let why = format!(
        "chromium not found at {} (install the Debian package `chromium`, or set {PATH_ENV})",
        path.display()
    );
    let required = std::env::var(REQUIRE_ENV).is_ok_and(|v| !v.is_empty() && v != "0");
    assert!(
        !required,
        "{why}; {REQUIRE_ENV} is set, so this is a failure"
    );
    eprintln!("skipped: {why}");
    true
}

/// Flags known to work for headless runs in containers and CI.
const BASE_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
];

const LAUNCH_TIMEOUT: Duration = Duration::from_secs(30);

/// Errors are only ever shown to a test author, so a boxed error is enough.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A running headless Chromium with one page attached. Dropping it kills the
/// browser's whole process group and removes its profile directory.
pub struct Browser {
    page: Mutex<Ws>,
    next_id: AtomicU64,
    /// What the page reported as errors: uncaught exceptions, `console.error`, and the
    /// browser's own error log (failed loads among them), in order.
    errors: std::sync::Mutex<Vec<String>>,
    /// How long [`Browser::eval`] waits for a result.
    pub eval_timeout: Duration,
    // Declared last so the socket closes before the process dies.
    _process: Process,
}

/// The browser process and its profile directory, cleaned up on drop.
struct Process {
    child: Child,
    profile: PathBuf,
}

impl Browser {
    /// Starts Chromium with the base headless flags.
    pub async fn launch() -> Result<Self, Error> {
        Self::launch_with(&[]).await
    }

    /// Starts Chromium with the base headless flags plus `extra` (for example
    /// `--use-fake-device-for-media-stream`).
    pub async fn launch_with(extra: &[&str]) -> Result<Self, Error> {
        let program = chromium();
        if !program.is_file() {
            return Err(format!(
                "{} not found: install the Debian package `chromium` (.ci/run does)",
                program.display()
            )
            .into());
        }
        let profile = fresh_profile_dir()?;
        let child = spawn(&program, &profile, extra)?;
        // From here on `Drop` cleans up even if connecting fails.
        let mut process = Process { child, profile };
        let page = open_page(&mut process).await?;
        let browser = Self {
            page: Mutex::new(page),
            next_id: AtomicU64::new(1),
            errors: std::sync::Mutex::default(),
            eval_timeout: Duration::from_secs(30),
            _process: process,
        };
        // Errors arrive as events from here on; `errors()` returns them.
        browser.call("Runtime.enable", json!({})).await?;
        browser.call("Log.enable", json!({})).await?;
        Ok(browser)
    }

    /// Every error the page reported so far: uncaught exceptions and rejections,
    /// `console.error`, and the browser's error log (a failed load, a refused request).
    #[allow(dead_code)] // Not every test that includes this module checks them.
    pub async fn errors(&self) -> Vec<String> {
        // Events come in on the page's socket ahead of replies: one call reads them all.
        let _ = self.eval("0").await;
        self.errors.lock().unwrap().clone()
    }

    /// Takes the page's HTTP off the network (`fetch` fails as offline), or puts it back.
    /// WebRTC's own traffic is not affected: cut it at the other end.
    #[allow(dead_code)]
    pub async fn offline(&self, offline: bool) -> Result<(), Error> {
        self.call("Network.enable", json!({})).await?;
        let conditions = json!({
            "offline": offline,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": -1,
        });
        self.call("Network.emulateNetworkConditions", conditions)
            .await
            .map(drop)
    }

    /// Reloads the page and waits until it has loaded again.
    #[allow(dead_code)]
    pub async fn reload(&self) -> Result<(), Error> {
        self.eval("window.__reloading = true").await?;
        self.call("Page.reload", json!({})).await?;
        for _ in 0..100 {
            let ready = self
                .eval("!window.__reloading && document.readyState === 'complete'")
                .await;
            if ready.ok() == Some(Value::Bool(true)) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err("the page did not load again within 5 s".into())
    }

    /// Evaluates `js` in the page, awaiting it if it is a promise, and returns
    /// its value as JSON. A thrown exception or rejected promise is an error
    /// carrying the JavaScript message.
    pub async fn eval(&self, js: &str) -> Result<Value, Error> {
        let params = json!({
            "expression": js,
            "awaitPromise": true,
            "returnByValue": true,
        });
        let reply = self.call("Runtime.evaluate", params).await?;
        if let Some(exception) = reply.get("exceptionDetails") {
            let text = exception
                .pointer("/exception/description")
                .or_else(|| exception.get("text"))
                .and_then(Value::as_str)
                .unwrap_or("unknown JavaScript exception");
            return Err(format!("JavaScript error: {text}").into());
        }
        Ok(reply
            .pointer("/result/value")
            .cloned()
            .unwrap_or(Value::Null))
    }

    /// Loads `url` in the page and waits until it has loaded. Pages on `http://127.0.0.1`
    /// are secure contexts, which APIs such as WebCodecs require (about:blank is not one).
    pub async fn goto(&self, url: &str) -> Result<(), Error> {
        self.call("Page.navigate", json!({ "url": url })).await?;
        for _ in 0..100 {
            let ready = self
                .eval("location.href !== 'about:blank' && document.readyState === 'complete'")
                .await;
            if ready.ok() == Some(Value::Bool(true)) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("{url} did not load within 5 s").into())
    }

    /// A PNG of what the page shows.
    #[allow(dead_code)] // Not every test that includes this module takes screenshots.
    pub async fn screenshot(&self) -> Result<Vec<u8>, Error> {
        let shot = self
            .call("Page.captureScreenshot", json!({ "format": "png" }))
            .await?;
        let data = shot
            .get("data")
            .and_then(Value::as_str)
            .ok_or("no screenshot data")?;
        base64_decode(data).ok_or_else(|| "the screenshot is not base64".into())
    }

    async fn call(&self, method: &str, params: Value) -> Result<Value, Error> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut ws = self.page.lock().await;
        let request = json!({ "id": id, "method": method, "params": params });
        tokio::time::timeout(self.eval_timeout, async {
            ws.send(Message::text(request.to_string())).await?;
            await_reply(&mut ws, id, Some(&self.errors)).await
        })
        .await
        .map_err(|_| format!("{method} timed out after {:?}", self.eval_timeout))?
    }
}

/// Opens a blank page through the browser endpoint and connects to it.
async fn open_page(process: &mut Process) -> Result<Ws, Error> {
    let (port, browser_path) = read_active_port(&process.profile, &mut process.child).await?;
    tokio::time::timeout(LAUNCH_TIMEOUT, async {
        let (mut browser_ws, _) =
            tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}{browser_path}"))
                .await?;
        let create = json!({
            "id": 1,
            "method": "Target.createTarget",
            "params": { "url": "about:blank" },
        });
        browser_ws.send(Message::text(create.to_string())).await?;
        let reply = await_reply(&mut browser_ws, 1, None).await?;
        let target = reply
            .get("targetId")
            .and_then(Value::as_str)
            .ok_or("Target.createTarget returned no targetId")?;
        let (page, _) = tokio_tungstenite::connect_async(format!(
            "ws://127.0.0.1:{port}/devtools/page/{target}"
        ))
        .await?;
        let _ = browser_ws.close(None).await;
        Ok(page)
    })
    .await
    .map_err(|_| "connecting to Chromium's DevTools timed out")?
}

impl Drop for Process {
    fn drop(&mut self) {
        // The launcher is a shell script and Chromium forks helpers, so the
        // whole process group (created at spawn) has to go.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Helpers may still be writing for a moment after the kill.
        for _ in 0..20 {
            if std::fs::remove_dir_all(&self.profile).is_ok() || !self.profile.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn fresh_profile_dir() -> Result<PathBuf, Error> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "cf-calls-chromium-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn spawn(program: &Path, profile: &Path, extra: &[&str]) -> Result<Child, Error> {
    use std::os::unix::process::CommandExt;
    // Chromium puts its singleton socket in a directory of its own under TMPDIR, which a
    // killed browser leaves behind: one per test run, piling up in /tmp. Inside the profile,
    // it goes with the profile.
    let tmp = profile.join("tmp");
    let child = std::fs::create_dir_all(&tmp).and_then(|()| {
        Command::new(program)
            .args(BASE_ARGS)
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .env("TMPDIR", &tmp)
            .process_group(0)
            .spawn()
    });
    child.map_err(|e| {
        let _ = std::fs::remove_dir_all(profile);
        format!("failed to start {}: {e}", program.display()).into()
    })
}

/// Chromium writes `<port>\n<browser ws path>` once DevTools is listening.
async fn read_active_port(profile: &Path, child: &mut Child) -> Result<(u16, String), Error> {
    let file = profile.join("DevToolsActivePort");
    let deadline = Instant::now() + LAUNCH_TIMEOUT;
    loop {
        if let Ok(text) = std::fs::read_to_string(&file) {
            let mut lines = text.lines();
            if let (Some(port), Some(path)) = (lines.next(), lines.next())
                && let Ok(port) = port.trim().parse()
            {
                return Ok((port, path.trim().to_owned()));
            }
        }
        if let Some(status) = child.try_wait()? {
            return Err(format!("chromium exited early with {status}").into());
        }
        if Instant::now() > deadline {
            return Err(format!("{} never appeared", file.display()).into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads messages until the reply to `id`; of the events before it, keeps the page's errors
/// in `errors`.
async fn await_reply(
    ws: &mut Ws,
    id: u64,
    errors: Option<&std::sync::Mutex<Vec<String>>>,
) -> Result<Value, Error> {
    while let Some(message) = ws.next().await {
        let message = message?;
        let Message::Text(text) = message else {
            continue;
        };
        let value: Value = serde_json::from_str(text.as_str())?;
        if value.get("id").and_then(Value::as_u64) != Some(id) {
            if let (Some(errors), Some(error)) = (errors, page_error(&value)) {
                errors.lock().unwrap().push(error);
            }
            continue;
        }
        if let Some(error) = value.get("error") {
            return Err(format!("DevTools error: {error}").into());
        }
        return Ok(value.get("result").cloned().unwrap_or(Value::Null));
    }
    Err("DevTools connection closed".into())
}

/// The error a DevTools event reports, if it reports one.
fn page_error(event: &Value) -> Option<String> {
    let params = event.get("params")?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_owned();
    match event.get("method")?.as_str()? {
        "Runtime.exceptionThrown" => {
            let details = params.get("exceptionDetails")?;
            let description = details.pointer("/exception/description");
            Some(format!(
                "uncaught: {}",
                text(description.or_else(|| details.get("text")))
            ))
        }
        "Runtime.consoleAPICalled" if params.get("type")? == "error" => {
            let args = params.get("args")?.as_array()?;
            let said: Vec<String> = args
                .iter()
                .map(|a| text(a.get("value").or_else(|| a.get("description"))))
                .collect();
            Some(format!("console.error: {}", said.join(" ")))
        }
        "Log.entryAdded" if params.pointer("/entry/level")? == "error" => Some(format!(
            "log: {} ({})",
            text(params.pointer("/entry/text")),
            text(params.pointer("/entry/url"))
        )),
        _ => None,
    }
}

/// Decodes standard base64 (CDP's encoding of binary results).
#[allow(dead_code)]
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let digits: Vec<u8> = text
        .bytes()
        .filter(|c| *c != b'=')
        .map(value)
        .collect::<Option<_>>()?;
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk.iter().fold(0u32, |n, d| n << 6 | u32::from(*d)) << (6 * (4 - chunk.len()));
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}
