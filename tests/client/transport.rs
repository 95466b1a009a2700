//! Retries, timeouts, dropped connections and secrets, against a scripted server.

use crate::support::mock;

use std::time::{Duration, Instant};

use cloudflare_calls::config::ConfigError;
use cloudflare_calls::{Client, Config, Error, ErrorCode, RetryPolicy};
use mock::{MockServer, Reply};
use serde_json::json;

const SECRET: &str = "app-secret-value-123";
const TOKEN: &str = "api-token-value-456";
const TURN_TOKEN: &str = "turn-token-value-789";

fn config(server: &MockServer) -> Config {
    Config::new(format!("{}/v1", server.url), "app1", SECRET)
        .account("acct", TOKEN)
        .account_api_url(format!("{}/client/v4", server.url))
        .turn_key("key1", TURN_TOKEN)
        .retry_policy(RetryPolicy::default().base_delay(Duration::from_millis(1)))
        .timeout(Duration::from_millis(500))
}

fn no_secret(text: &str) {
    for s in [SECRET, TOKEN, TURN_TOKEN] {
        assert!(!text.contains(s), "secret leaked in: {text}");
    }
}

#[tokio::test]
async fn safe_calls_retry_503_and_creations_do_not() {
    let server = MockServer::start().await;
    let busy = json!({"errorCode": "retryable_transient_error"});
    server
        .json(503, busy.clone())
        .json(503, busy.clone())
        .json(200, json!({"tracks": []}));
    let c = Client::new(config(&server)).unwrap();
    c.session("s1").state().await.unwrap();
    assert_eq!(server.requests().len(), 3);

    server.json(503, busy);
    let err = c.new_session().send().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::RetryableTransientError));
    assert!(err.is_retryable(), "the caller may decide to retry");
    assert_eq!(server.requests().len(), 4, "new_session was not re-sent");
}

#[tokio::test]
async fn rate_limits_honour_retry_after_even_for_creations() {
    let server = MockServer::start().await;
    server.reply(Reply::Raw(
        429,
        vec![("retry-after", "1".into())],
        "{}".into(),
    ));
    server.json(201, json!({"sessionId": "s"}));
    let c = Client::new(config(&server)).unwrap();
    let started = Instant::now();
    c.new_session().send().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );

    // A wait longer than the policy allows is not slept through: the error says how long.
    server.reply(Reply::Raw(
        429,
        vec![("retry-after", "3600".into())],
        "{}".into(),
    ));
    let err = c.new_session().send().await.unwrap_err();
    assert_eq!(
        err.api().unwrap().retry_after,
        Some(Duration::from_secs(3600))
    );
}

#[tokio::test]
async fn not_ready_sessions_are_retried() {
    let server = MockServer::start().await;
    server.json(425, json!({"errorCode": "session_error"}));
    server.json(200, json!({"tracks": []}));
    let c = Client::new(config(&server)).unwrap();
    let result = c.session("s").add_tracks().send().await.unwrap();
    assert!(result.tracks.is_empty());
    assert_eq!(server.requests().len(), 2);

    let c = Client::new(config(&server).retry_policy(RetryPolicy::none())).unwrap();
    server.json(425, json!({"errorCode": "session_error"}));
    let err = c.session("s").state().await.unwrap_err();
    assert!(err.is_not_ready());
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported() {
    // Bind and drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = Client::new(
        Config::new(format!("http://127.0.0.1:{port}/v1"), "app", SECRET).retry_policy(
            RetryPolicy::default()
                .max_retries(2)
                .base_delay(Duration::from_millis(1)),
        ),
    )
    .unwrap();
    let err = c.new_session().send().await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.is_retryable());
    no_secret(&format!("{err} {err:?}"));
}

#[tokio::test]
async fn timeouts_dropped_connections_and_truncated_bodies_are_typed() {
    let server = MockServer::start().await;
    let c = Client::new(config(&server).retry_policy(RetryPolicy::none())).unwrap();

    server.reply(Reply::Delayed(
        Duration::from_secs(2),
        Box::new(Reply::Json(201, json!({"sessionId": "late"}))),
    ));
    let err = c.new_session().send().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                operation: "new_session"
            }
        ),
        "{err:?}"
    );

    server.reply(Reply::Drop);
    let err = c.new_session().send().await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");

    server.reply(Reply::Truncated(201, r#"{"sessionId": "ab"#.into()));
    let err = c.new_session().send().await.unwrap_err();
    assert!(
        matches!(err, Error::Transport { .. } | Error::Decode { .. }),
        "{err:?}"
    );

    server.reply(Reply::Raw(200, vec![], "this is not json".into()));
    match c.session("s").state().await.unwrap_err() {
        Error::Decode { body, status, .. } => {
            assert_eq!(body, "this is not json", "body kept for diagnosis");
            assert_eq!(status, Some(200));
        }
        other => panic!("{other:?}"),
    }

    // An answer to new_session may hold the SFU's SDP, ICE password included: withheld.
    server.reply(Reply::Raw(201, vec![], "v=0\r\na=ice-pwd:hunter2".into()));
    match c.new_session().send().await.unwrap_err() {
        Error::Decode { body, status, .. } => {
            assert_eq!(body, "", "an SDP-bearing body is withheld");
            assert_eq!(status, Some(201));
        }
        other => panic!("{other:?}"),
    }

    // A proxy's error page instead of the service's JSON keeps its status too.
    server.reply(Reply::Raw(502, vec![], "<html>bad gateway</html>".into()));
    let err = c.new_session().send().await.unwrap_err();
    assert_eq!(err.status(), Some(502), "{err:?}");
    assert!(matches!(err, Error::Decode { ref body, .. } if body.contains("bad gateway")));
    no_secret(&format!("{err} {err:?}"));
}

#[tokio::test]
async fn secrets_never_show_in_debug_display_or_errors() {
    let server = MockServer::start().await;
    let config = config(&server);
    no_secret(&format!("{config:?}"));
    let c = Client::new(config).unwrap();
    no_secret(&format!("{c:?}"));
    no_secret(&format!("{:?}", c.raw_sfu()));
    server.json(
        401,
        json!({"errorCode": "unauthorized", "errorDescription": "bad token"}),
    );
    let err = c.session("s").state().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Unauthorized));
    no_secret(&format!("{err} {err:?}"));
    let requests = server.requests();
    assert_eq!(
        requests[0].header("authorization"),
        Some(&*format!("Bearer {SECRET}"))
    );
}

#[test]
fn config_from_env_names_the_missing_variable() {
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    };
    assert_eq!(
        Config::from_lookup(env(&[])).unwrap_err(),
        ConfigError::MissingEnv("CALLS_APP_ID")
    );
    assert_eq!(
        Config::from_lookup(env(&[
            ("CALLS_APP_ID", "a"),
            ("CALLS_APP_SECRET", "s"),
            ("CLOUDFLARE_ACCOUNT_ID", "x")
        ]))
        .unwrap_err(),
        ConfigError::MissingEnv("CLOUDFLARE_API_TOKEN")
    );
    let c = Config::from_lookup(env(&[
        ("CALLS_APP_ID", "a"),
        ("CALLS_APP_SECRET", SECRET),
        ("CALLS_API", "http://127.0.0.1:1/v1/"),
    ]))
    .unwrap();
    assert_eq!(c.base_url(), "http://127.0.0.1:1/v1");
    no_secret(&format!("{c:?}"));
    let err = Config::from_lookup(env(&[
        ("CALLS_APP_ID", "a"),
        ("CALLS_APP_SECRET", "s"),
        ("CALLS_API", "ftp://x"),
    ]))
    .unwrap_err();
    assert!(matches!(err, ConfigError::InvalidUrl { .. }));
}

/// The examples' rule: an emulator only when the environment names nothing of the service;
/// anything partial, empty or misspelled is an error naming the variable.
#[test]
fn config_falls_back_only_when_nothing_is_set() {
    let lookup = |vars: &'static [(&'static str, &'static str)]| {
        let names: Vec<&str> = vars.iter().map(|(n, _)| *n).collect();
        let values = move |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        };
        Config::from_lookup_if_any(&names, values)
    };
    // Nothing about the service (other variables do not count).
    assert!(
        lookup(&[("PATH", "/bin"), ("CALLS_REQUIRE_REDIS", "1")])
            .unwrap()
            .is_none()
    );
    // Empty, partial, misspelled: the missing variable is named.
    let missing = |vars| lookup(vars).unwrap_err();
    assert_eq!(
        missing(&[("CALLS_APP_ID", "")]),
        ConfigError::MissingEnv("CALLS_APP_ID")
    );
    assert_eq!(
        missing(&[("CALLS_APP_ID", "a")]),
        ConfigError::MissingEnv("CALLS_APP_SECRET")
    );
    assert_eq!(
        missing(&[("CALLS_APP_ID", "a"), ("CALLS_APP_SECRET", " ")]),
        ConfigError::MissingEnv("CALLS_APP_SECRET")
    );
    assert_eq!(
        missing(&[("CALLS_APP_ID", "a"), ("CALLS_APP_SECERT", "s")]),
        ConfigError::MissingEnv("CALLS_APP_SECRET")
    );
    assert_eq!(
        missing(&[("CALLS_API", "http://127.0.0.1:1/v1")]),
        ConfigError::MissingEnv("CALLS_APP_ID")
    );
    assert_eq!(
        missing(&[("CLOUDFLARE_API_TOKEN", "t")]),
        ConfigError::MissingEnv("CALLS_APP_ID")
    );
    // Complete: the account API's URL comes along.
    let config = lookup(&[
        ("CALLS_APP_ID", "a"),
        ("CALLS_APP_SECRET", SECRET),
        ("CALLS_ACCOUNT_API", "http://127.0.0.1:2/client/v4"),
    ])
    .unwrap()
    .expect("a configuration");
    assert_eq!(config.app_id(), "a");
    assert!(
        format!("{config:?}").contains("http://127.0.0.1:2/client/v4"),
        "{config:?}"
    );
}

/// Common mistakes against the emulator come with a hint a person can act on.
#[tokio::test]
async fn common_mistakes_carry_a_hint() {
    let emulator = calls_emulator::Emulator::start().await.unwrap();
    let config = |base: String, secret: &str| {
        Config::new(base, emulator.app_id(), secret).retry_policy(RetryPolicy::none())
    };
    let hint = |e: &Error| e.hint().unwrap_or_else(|| panic!("no hint for {e}"));

    // A wrong app secret: 401, and the variables to check.
    let client = Client::new(config(emulator.sfu_base_url(), "wrong")).unwrap();
    let err = client.new_session().send().await.unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
    assert!(hint(&err).contains("CALLS_APP_SECRET"), "{}", hint(&err));

    // A base URL without /v1: no such route.
    let base = emulator.sfu_base_url().trim_end_matches("/v1").to_owned();
    let client = Client::new(config(base, emulator.app_secret())).unwrap();
    let err = client.new_session().send().await.unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
    assert!(hint(&err).contains("/v1"), "{}", hint(&err));

    // An offer the SFU cannot use (no ICE credentials): the SDP is named.
    let client = Client::new(config(emulator.sfu_base_url(), emulator.app_secret())).unwrap();
    let offer = cloudflare_calls::Offer::new("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n");
    let err = client.new_session().offer(offer).send().await.unwrap_err();
    assert_eq!(
        err.code(),
        Some(&ErrorCode::InvalidSessionDescription),
        "{err}"
    );
    assert!(hint(&err).contains("SDP"), "{}", hint(&err));

    // A change while the SFU waits for an answer nobody sent (its offer was dropped).
    let session = client.new_session().send().await.unwrap();
    let mic =
        cloudflare_calls::LocalTrack::offered_by_sfu("mic", cloudflare_calls::MediaKind::Audio);
    let added = session.add_tracks().push(mic).send().await.unwrap();
    drop(added.negotiation.into_pending().expect("the SFU offers"));
    let cam =
        cloudflare_calls::LocalTrack::offered_by_sfu("cam", cloudflare_calls::MediaKind::Video);
    let err = session.add_tracks().push(cam).send().await.unwrap_err();
    assert_eq!(err.status(), Some(406), "{err}");
    assert!(hint(&err).contains("renegotiate"), "{}", hint(&err));

    // Nothing to add to a plain server failure.
    let server = MockServer::start().await;
    server.json(500, json!({"errorCode": "internal_error"}));
    let client = Client::new(config(format!("{}/v1", server.url), "s")).unwrap();
    let err = client.new_session().send().await.unwrap_err();
    assert_eq!(err.hint(), None, "{err}");
}
