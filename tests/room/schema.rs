//! The room channel's wire format: its JSON Schema is pinned by a snapshot, and every
//! event survives a round trip, so the format browsers read cannot drift silently.

#![cfg(feature = "room")]

use cloudflare_calls::room::{
    LeaveReason, ParticipantInfo, Payload, RoomEvent, RoomUpdate, TrackInfo, room_update_schema,
};
use serde_json::json;

#[test]
fn room_update_schema_is_stable() {
    let schema = room_update_schema();
    // Clients ignore fields they do not know, so no object of the format may be closed; a
    // closed payload schema once rejected every message.
    fn closed(value: &serde_json::Value) -> bool {
        match value {
            serde_json::Value::Object(map) => {
                map.get("additionalProperties") == Some(&serde_json::Value::Bool(false))
                    || map.values().any(closed)
            }
            serde_json::Value::Array(items) => items.iter().any(closed),
            _ => false,
        }
    }
    assert!(!closed(&schema), "a closed object in {schema:#}");
    insta::assert_json_snapshot!(schema);
}

fn alice() -> ParticipantInfo {
    serde_json::from_value(json!({
        "id": "p-1",
        "identity": "alice",
        "role": "member",
        "sessionId": "s-alice",
        "metadata": "{\"color\":\"blue\"}",
    }))
    .unwrap()
}

fn cam() -> TrackInfo {
    serde_json::from_value(json!({"sessionId": "s-alice", "name": "cam", "kind": "video"})).unwrap()
}

#[test]
fn every_event_round_trips_and_some_have_exact_json() {
    let events = [
        RoomEvent::ParticipantJoined {
            participant: alice(),
        },
        RoomEvent::ParticipantLeft {
            participant: alice(),
            reason: LeaveReason::Expired,
        },
        RoomEvent::TracksPublished {
            participant: "p-1".into(),
            tracks: vec![cam()],
        },
        RoomEvent::TracksUnpublished {
            participant: "p-1".into(),
            tracks: vec![cam()],
        },
        RoomEvent::Message {
            from: None,
            to: None,
            payload: Payload::from("Hello!"),
        },
        RoomEvent::Message {
            from: Some("p-1".into()),
            to: Some("p-2".into()),
            payload: Payload::from(vec![1u8, 2, 255]),
        },
        RoomEvent::RoomClosed,
    ];
    for (seq, event) in (1..).zip(events) {
        let update = RoomUpdate::new(seq, event);
        let json = update.to_json();
        assert_eq!(RoomUpdate::from_json(&json), Some(update), "{json}");
    }

    let hello = RoomUpdate::new(
        8,
        RoomEvent::Message {
            from: None,
            to: None,
            payload: "Hello!".into(),
        },
    );
    assert_eq!(
        hello.to_json(),
        r#"{"v":1,"seq":8,"type":"message","from":null,"text":"Hello!"}"#
    );
    let left = RoomUpdate::new(
        9,
        RoomEvent::ParticipantLeft {
            participant: alice(),
            reason: LeaveReason::Kicked,
        },
    );
    assert_eq!(
        left.to_json(),
        r#"{"v":1,"seq":9,"type":"participant_left","participant":{"id":"p-1","identity":"alice","role":"member","sessionId":"s-alice","metadata":"{\"color\":\"blue\"}"},"reason":"kicked"}"#
    );

    let published = RoomUpdate::new(
        7,
        RoomEvent::TracksPublished {
            participant: "p-1".into(),
            tracks: vec![cam()],
        },
    );
    assert_eq!(
        published.to_json(),
        r#"{"v":1,"seq":7,"type":"tracks_published","participant":"p-1","tracks":[{"sessionId":"s-alice","name":"cam","kind":"video"}]}"#
    );

    // A client may ignore what it does not know, and text that is not an update is none.
    let newer = r#"{"v":1,"seq":10,"type":"room_closed","extra":true}"#;
    assert_eq!(
        RoomUpdate::from_json(newer).map(|u| u.event),
        Some(RoomEvent::RoomClosed)
    );
    assert_eq!(RoomUpdate::from_json("ack"), None);
}
