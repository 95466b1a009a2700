use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// The binary prints its endpoints and credentials as the variables the client reads
/// (`export CALLS_API=…`), and they work.
#[tokio::test]
async fn the_binary_prints_working_credentials() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_calls-emulator"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let mut vars = std::collections::HashMap::new();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.map_while(Result::ok) {
        if let Some((k, v)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) {
            vars.insert(k.to_string(), v.to_string());
        }
        if vars.contains_key("CALLS_TURN_KEY_TOKEN") {
            break;
        }
    }
    let http = reqwest::Client::new();
    let url = format!(
        "{}/apps/{}/sessions/new",
        vars["CALLS_API"], vars["CALLS_APP_ID"]
    );
    let resp = http
        .post(&url)
        .bearer_auth(&vars["CALLS_APP_SECRET"])
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let url = format!(
        "{}/accounts/{}/calls/turn_keys",
        vars["CALLS_ACCOUNT_API"], vars["CLOUDFLARE_ACCOUNT_ID"]
    );
    let keys = http
        .get(&url)
        .bearer_auth(&vars["CLOUDFLARE_API_TOKEN"])
        .send()
        .await
        .unwrap();
    let keys: serde_json::Value = keys.json().await.unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 201);
    assert_eq!(keys["result"][0]["uid"], vars["CALLS_TURN_KEY_ID"].as_str());
}
