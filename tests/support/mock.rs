//! A scripted HTTP/1.1 server on loopback: records every request, answers from a queue.
//! Raw TCP on purpose, so a test can also drop the connection or cut a body short.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as the server saw it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    #[serde(skip)]
    pub headers: Vec<(String, String)>,
    pub body: serde_json::Value,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the server does with the next request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A JSON body with this status.
    Json(u16, serde_json::Value),
    /// A status with extra headers and a raw body.
    Raw(u16, Vec<(&'static str, String)>, String),
    /// Close the connection without answering.
    Drop,
    /// Announce a longer body than is sent, then close.
    Truncated(u16, String),
    /// Wait, then reply.
    Delayed(Duration, Box<Reply>),
}

type Observer = Arc<dyn Fn(bool) + Send + Sync>;

#[derive(Clone)]
pub struct MockServer {
    pub url: String,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    replies: Arc<Mutex<VecDeque<Reply>>>,
    observer: Arc<Mutex<Option<Observer>>>,
}

impl MockServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = Self {
            url,
            recorded: Default::default(),
            replies: Default::default(),
            observer: Default::default(),
        };
        let s = server.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move { s.serve(stream).await });
            }
        });
        server
    }

    pub fn reply(&self, reply: Reply) -> &Self {
        self.replies.lock().unwrap().push_back(reply);
        self
    }

    pub fn json(&self, status: u16, body: serde_json::Value) -> &Self {
        self.reply(Reply::Json(status, body))
    }

    /// Called with `true` when a request has been read and `false` once its reply is written.
    pub fn on_request(&self, observer: impl Fn(bool) + Send + Sync + 'static) {
        *self.observer.lock().unwrap() = Some(Arc::new(observer));
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.recorded.lock().unwrap().clone()
    }

    async fn serve(&self, mut stream: TcpStream) {
        loop {
            let Some(request) = read_request(&mut stream).await else {
                return;
            };
            self.recorded.lock().unwrap().push(request);
            let observer = self.observer.lock().unwrap().clone();
            if let Some(o) = &observer {
                o(true);
            }
            let reply = self
                .replies
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or(Reply::Json(
                    500,
                    serde_json::json!({"errorCode": "no_reply_scripted"}),
                ));
            let keep_open = write_reply(&mut stream, reply).await;
            if let Some(o) = &observer {
                o(false);
            }
            if !keep_open {
                return;
            }
        }
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<Recorded> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (target, None),
    };
    let body = if body.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&body).into()))
    };
    Some(Recorded {
        method,
        path,
        query,
        headers,
        body,
    })
}

/// Writes the reply; false when the connection must close.
async fn write_reply(stream: &mut TcpStream, reply: Reply) -> bool {
    let (status, headers, body, declared) = match reply {
        Reply::Drop => return false,
        Reply::Delayed(wait, inner) => {
            tokio::time::sleep(wait).await;
            return Box::pin(write_reply(stream, *inner)).await;
        }
        Reply::Json(status, body) => (status, vec![], body.to_string(), None),
        Reply::Raw(status, headers, body) => (status, headers, body, None),
        Reply::Truncated(status, body) => {
            let declared = body.len() * 2 + 10;
            (status, vec![], body, Some(declared))
        }
    };
    let mut out = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        declared.unwrap_or(body.len())
    );
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&body);
    let ok = stream.write_all(out.as_bytes()).await.is_ok();
    ok && declared.is_none()
}
