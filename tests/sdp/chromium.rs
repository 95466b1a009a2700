//! Munged browser offers must still be accepted by Chromium's
//! `setRemoteDescription`, and the answer must reflect the edit.

use crate::support::chromium;

use cloudflare_calls::sdp::{self, OpusSettings, SectionKind};
use serde_json::Value;

const FIXTURES: &[(&str, &str)] = &[
    (
        "chromium_transceivers_datachannel",
        include_str!("../fixtures/sdp/chromium_transceivers_datachannel.sdp"),
    ),
    (
        "chromium_tracks_datachannel",
        include_str!("../fixtures/sdp/chromium_tracks_datachannel.sdp"),
    ),
    (
        "chromium_simulcast",
        include_str!("../fixtures/sdp/chromium_simulcast.sdp"),
    ),
    (
        "chromium_recvonly",
        include_str!("../fixtures/sdp/chromium_recvonly.sdp"),
    ),
    (
        "firefox_style_lf",
        include_str!("../fixtures/sdp/firefox_style_lf.sdp"),
    ),
];

/// Applies `offer` as the remote description of a fresh peer connection and
/// returns Chromium's answer.
async fn answer(browser: &chromium::Browser, offer: &str) -> Result<String, chromium::Error> {
    Ok(negotiate(browser, offer).await?.0)
}

/// Like [`answer`], also returning the remote description as Chromium
/// serializes it back from what it parsed.
async fn negotiate(
    browser: &chromium::Browser,
    offer: &str,
) -> Result<(String, String), chromium::Error> {
    let js = format!(
        r#"(async (sdp) => {{
            const pc = new RTCPeerConnection();
            try {{
                await pc.setRemoteDescription({{ type: 'offer', sdp }});
                const answer = await pc.createAnswer();
                return [answer.sdp, pc.remoteDescription.sdp];
            }} finally {{
                pc.close();
            }}
        }})({})"#,
        serde_json::to_string(offer)?
    );
    match browser.eval(&js).await? {
        Value::Array(pair) => match pair.as_slice() {
            [Value::String(answer), Value::String(remote)] => Ok((answer.clone(), remote.clone())),
            _ => Err(format!("unexpected reply: {pair:?}").into()),
        },
        other => Err(format!("unexpected reply: {other}").into()),
    }
}

fn codec_names(sdp: &str, kind: SectionKind) -> Vec<Vec<String>> {
    sdp::parse(sdp)
        .expect("Chromium's answer parses")
        .media
        .iter()
        .filter(|m| m.kind == kind && m.port != 0)
        .map(|m| m.codecs.iter().map(|c| c.name.to_owned()).collect())
        .collect()
}

#[tokio::test]
async fn chromium_accepts_munged_offers() {
    if chromium::skip_without_chromium() {
        return;
    }
    let browser = chromium::Browser::launch().await.expect("launch Chromium");
    for (name, offer) in FIXTURES {
        answer(&browser, offer)
            .await
            .unwrap_or_else(|e| panic!("{name}: unmodified offer rejected: {e}"));

        let dtx = sdp::enable_opus_dtx(offer).unwrap();
        let (_, remote) = negotiate(&browser, &dtx)
            .await
            .unwrap_or_else(|e| panic!("{name}: DTX offer rejected: {e}"));
        assert!(remote.contains("usedtx=1"), "{name}: {remote}");

        let opus = OpusSettings::new()
            .dtx(true)
            .stereo(true)
            .sprop_stereo(true)
            .max_average_bitrate(96_000)
            .inband_fec(true)
            .cbr(false)
            .max_playback_rate(48_000)
            .ptime(20)
            .min_ptime(10)
            .apply(offer)
            .unwrap();
        let (_, remote) = negotiate(&browser, &opus)
            .await
            .unwrap_or_else(|e| panic!("{name}: Opus settings rejected: {e}"));
        // Chromium reserializes the fmtp keys sorted and moves ptime into
        // `a=ptime`, which shows it parsed every one of them.
        let params = [
            "usedtx=1",
            "stereo=1",
            "sprop-stereo=1",
            "maxaveragebitrate=96000",
            "a=ptime:20",
        ];
        for param in params {
            assert!(remote.contains(param), "{name}: {param} lost: {remote}");
        }

        for keep in ["VP8", "H264", "AV1"] {
            let Ok(filtered) = sdp::retain_codecs(offer, SectionKind::Video, &[keep]) else {
                continue;
            };
            let reply = answer(&browser, &filtered)
                .await
                .unwrap_or_else(|e| panic!("{name}: {keep}-only offer rejected: {e}"));
            for codecs in codec_names(&reply, SectionKind::Video) {
                assert!(
                    codecs.iter().all(|c| c == keep || c == "rtx"),
                    "{name}: {keep}-only answer has {codecs:?}"
                );
                assert!(codecs.iter().any(|c| c == keep), "{name}: {codecs:?}");
            }
        }

        let audio_only_opus = sdp::retain_codecs(offer, SectionKind::Audio, &["opus"]).unwrap();
        let reply = answer(&browser, &audio_only_opus).await.unwrap();
        for codecs in codec_names(&reply, SectionKind::Audio) {
            assert_eq!(codecs, ["opus"], "{name}");
        }

        let preferred = sdp::prefer_codecs(offer, SectionKind::Video, &["H264"]).unwrap();
        let reply = answer(&browser, &preferred).await.unwrap();
        for codecs in codec_names(&reply, SectionKind::Video) {
            assert_eq!(codecs[0], "H264", "{name}: {codecs:?}");
        }
    }
}

#[tokio::test]
async fn chromium_rejection_is_reported_as_an_error() {
    if chromium::skip_without_chromium() {
        return;
    }
    let browser = chromium::Browser::launch().await.expect("launch Chromium");
    let broken = FIXTURES[0]
        .1
        .replace("a=mid:0\r\n", "a=mid:0\r\nbroken line\r\n");
    assert!(sdp::validate(&broken).is_err());
    let err = answer(&browser, &broken).await.unwrap_err().to_string();
    assert!(err.contains("JavaScript error"), "{err}");
}
