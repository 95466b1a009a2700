//! `enable_opus_dtx` on captured browser offers, against the same edit through
//! the webrtc-rs `sdp` crate and a bare parse + serialize through Mozilla's
//! `webrtc-sdp` (less work than the edit); `validate` beside it. The floor
//! to hold: at least 10x faster than the faster of the two.
//!
//! `cargo bench --bench sdp -- --warm-up-time 2 --measurement-time 5`

use std::hint::black_box;
use std::io::Cursor;

use criterion::{Criterion, criterion_group, criterion_main};
use sdp::description::common::Attribute;
use sdp::description::session::SessionDescription;

const OFFERS: &[(&str, &str)] = &[
    (
        "tracks_datachannel",
        include_str!("../tests/fixtures/sdp/chromium_tracks_datachannel.sdp"),
    ),
    (
        "simulcast",
        include_str!("../tests/fixtures/sdp/chromium_simulcast.sdp"),
    ),
    (
        "recvonly_3_sections",
        include_str!("../tests/fixtures/sdp/chromium_recvonly.sdp"),
    ),
];

/// The DTX edit done the usual way with webrtc-rs: parse, change the Opus
/// fmtp attributes (adding one where missing), serialize.
fn webrtc_rs_enable_dtx(offer: &str) -> String {
    let mut session = SessionDescription::unmarshal(&mut Cursor::new(offer)).expect("parse");
    for media in &mut session.media_descriptions {
        let opus: Vec<String> = media
            .attributes
            .iter()
            .filter(|a| a.key == "rtpmap")
            .filter_map(|a| a.value.as_deref())
            .filter(|v| v.to_ascii_lowercase().contains(" opus/"))
            .filter_map(|v| v.split(' ').next().map(str::to_owned))
            .collect();
        for pt in opus {
            let prefix = format!("{pt} ");
            let fmtp = media.attributes.iter_mut().find(|a| {
                a.key == "fmtp" && a.value.as_deref().is_some_and(|v| v.starts_with(&prefix))
            });
            match fmtp {
                Some(attribute) => {
                    let value = attribute.value.take().unwrap_or_default();
                    attribute.value = Some(if value.contains("usedtx=") {
                        value.replace("usedtx=0", "usedtx=1")
                    } else {
                        format!("{value};usedtx=1")
                    });
                }
                None => media.attributes.push(Attribute {
                    key: "fmtp".to_owned(),
                    value: Some(format!("{pt} usedtx=1")),
                }),
            }
        }
    }
    session.marshal()
}

fn bench(c: &mut Criterion) {
    for (name, offer) in OFFERS {
        // The comparison only means something if the baselines do the work.
        assert!(webrtc_rs_enable_dtx(offer).contains("usedtx=1"));
        assert!(webrtc_sdp::parse_sdp(offer, false).is_ok());

        let mut group = c.benchmark_group(format!("enable_opus_dtx/{name}"));
        group.bench_function("cloudflare_calls", |b| {
            b.iter(|| cloudflare_calls::sdp::enable_opus_dtx(black_box(offer)).unwrap())
        });
        // The checking part of every edit on its own.
        group.bench_function("cloudflare_calls_validate", |b| {
            b.iter(|| cloudflare_calls::sdp::validate(black_box(offer)).unwrap())
        });
        group.bench_function("webrtc_rs_sdp_edit", |b| {
            b.iter(|| webrtc_rs_enable_dtx(black_box(offer)))
        });
        group.bench_function("mozilla_webrtc_sdp_roundtrip", |b| {
            b.iter(|| {
                webrtc_sdp::parse_sdp(black_box(offer), false)
                    .unwrap()
                    .to_string()
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
