//! SDP munging and reading on captured browser offers.

use cloudflare_calls::sdp::{
    self, Direction, Malformed, OpusSettings, RidDirection, SdpError, SectionKind,
};

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

const MINIMAL: &str = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";

/// Lines that are not fmtp lines of an Opus payload type: the ones the Opus
/// edits must leave untouched.
fn without_opus_fmtp(sdp: &str) -> String {
    let description = sdp::parse(sdp).unwrap();
    let opus: Vec<String> = description
        .media
        .iter()
        .flat_map(|m| &m.codecs)
        .filter(|c| c.name.eq_ignore_ascii_case("opus"))
        .map(|c| format!("a=fmtp:{} ", c.payload_type))
        .collect();
    sdp.split_inclusive('\n')
        .filter(|line| !opus.iter().any(|p| line.starts_with(p.as_str())))
        .collect()
}

fn opus_usedtx(sdp: &str) -> Vec<Option<String>> {
    let description = sdp::parse(sdp).unwrap();
    description
        .media
        .iter()
        .flat_map(|m| &m.codecs)
        .filter(|c| c.name == "opus")
        .map(|c| c.fmtp_param("usedtx").map(str::to_owned))
        .collect()
}

#[test]
fn dtx_snapshots() {
    for (name, offer) in FIXTURES {
        let munged = sdp::enable_opus_dtx(offer).unwrap();
        insta::assert_snapshot!(format!("sdp_dtx_{name}"), munged);
    }
}

#[test]
fn dtx_reaches_every_opus_payload_type_and_nothing_else() {
    for (name, offer) in FIXTURES {
        let munged = sdp::enable_opus_dtx(offer).unwrap();
        let dtx = opus_usedtx(&munged);
        assert!(!dtx.is_empty(), "{name}: no Opus found");
        assert!(
            dtx.iter().all(|d| d.as_deref() == Some("1")),
            "{name}: {dtx:?}"
        );
        assert_eq!(
            without_opus_fmtp(offer),
            without_opus_fmtp(&munged),
            "{name}"
        );
        let endings = |s: &str| (s.matches("\r\n").count(), s.matches('\n').count());
        assert_eq!(
            endings(offer),
            endings(&munged),
            "{name}: line endings changed"
        );
        assert_eq!(
            sdp::enable_opus_dtx(&munged).unwrap(),
            munged,
            "{name}: not idempotent"
        );
    }
}

#[test]
fn disable_dtx_undoes_enable() {
    for (name, offer) in FIXTURES {
        let enabled = sdp::enable_opus_dtx(offer).unwrap();
        let disabled = sdp::disable_opus_dtx(&enabled).unwrap();
        assert!(
            opus_usedtx(&disabled)
                .iter()
                .all(|d| d.as_deref() == Some("0")),
            "{name}"
        );
        assert_eq!(
            sdp::disable_opus_dtx(&disabled).unwrap(),
            disabled,
            "{name}"
        );
    }
    // Nothing to turn off, so nothing changes.
    let chromium = FIXTURES[0].1;
    assert_eq!(sdp::disable_opus_dtx(chromium).unwrap(), chromium);
}

#[test]
fn firefox_fmtp_before_rtpmap_is_rewritten_in_place() {
    let offer = FIXTURES[4].1;
    let munged = sdp::enable_opus_dtx(offer).unwrap();
    assert_eq!(
        munged,
        offer.replace(
            "a=fmtp:109 maxplaybackrate=48000;stereo=1;useinbandfec=1;usedtx=0\n",
            "a=fmtp:109 maxplaybackrate=48000;stereo=1;useinbandfec=1;usedtx=1\n"
        )
    );
    assert!(!munged.contains('\r'));
}

#[test]
fn missing_fmtp_is_added_after_rtpmap_with_its_line_ending() {
    let sdp = format!(
        "{MINIMAL}m=audio 9 RTP/AVP 111 0\na=rtpmap:111 OPUS/48000/2\r\na=rtpmap:0 PCMU/8000\n"
    );
    let munged = sdp::enable_opus_dtx(&sdp).unwrap();
    assert_eq!(
        munged,
        sdp.replace(
            "OPUS/48000/2\r\n",
            "OPUS/48000/2\r\na=fmtp:111 usedtx=1\r\n"
        )
    );
    // A final line without an ending gets the document's ending first.
    let last = format!("{MINIMAL}m=audio 9 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2");
    assert_eq!(
        sdp::enable_opus_dtx(&last).unwrap(),
        format!("{last}\r\na=fmtp:111 usedtx=1")
    );
    // Adding nothing adds no line.
    assert_eq!(sdp::disable_opus_dtx(&sdp).unwrap(), sdp);
}

#[test]
fn odd_fmtp_shapes() {
    let cases = [
        ("a=fmtp:111", "a=fmtp:111 usedtx=1"),
        ("a=fmtp:111 ", "a=fmtp:111 usedtx=1"),
        ("a=fmtp:111 minptime=10;", "a=fmtp:111 minptime=10;usedtx=1"),
        (
            "a=fmtp:111 minptime=10; useDTX = 0",
            "a=fmtp:111 minptime=10; useDTX=1",
        ),
        (
            "a=fmtp:111 usedtx=0;usedtx=0",
            "a=fmtp:111 usedtx=1;usedtx=1",
        ),
        ("a=fmtp:111 usedtx", "a=fmtp:111 usedtx=1"),
    ];
    for (before, after) in cases {
        let sdp =
            format!("{MINIMAL}m=audio 9 RTP/AVP 111\r\n{before}\r\na=rtpmap:111 opus/48000/2\r\n");
        let munged = sdp::enable_opus_dtx(&sdp).unwrap();
        assert_eq!(munged, sdp.replace(before, after), "{before}");
        assert_eq!(sdp::enable_opus_dtx(&munged).unwrap(), munged, "{before}");
    }
}

#[test]
fn opus_settings_in_one_pass() {
    let offer = FIXTURES[0].1;
    let settings = OpusSettings::new()
        .dtx(true)
        .stereo(true)
        .sprop_stereo(true)
        .max_average_bitrate(64_000)
        .inband_fec(false)
        .cbr(true)
        .max_playback_rate(24_000)
        .ptime(40)
        .min_ptime(20);
    let munged = settings.apply(offer).unwrap();
    assert!(munged.contains(
        "a=fmtp:111 minptime=20;useinbandfec=0;usedtx=1;stereo=1;sprop-stereo=1;\
         maxaveragebitrate=64000;cbr=1;maxplaybackrate=24000;ptime=40\r\n"
    ));
    assert_eq!(settings.apply(&munged).unwrap(), munged);
    // Non-Opus fmtp lines stay as they were.
    assert!(munged.contains("a=fmtp:63 111/111\r\n"));
}

#[test]
fn opus_numbers_are_range_checked() {
    let err = OpusSettings::new()
        .max_average_bitrate(5)
        .apply(FIXTURES[0].1);
    assert_eq!(
        err,
        Err(SdpError::OutOfRange {
            parameter: "maxaveragebitrate",
            value: 5,
            min: 6000,
            max: 510_000
        })
    );
    assert!(OpusSettings::new().ptime(121).apply(FIXTURES[0].1).is_err());
}

#[test]
fn retain_video_codecs_with_their_rtx() {
    for (name, offer) in FIXTURES {
        for keep in ["VP8", "H264", "AV1"] {
            let has = sdp::parse(offer)
                .unwrap()
                .media
                .iter()
                .any(|m| m.codecs.iter().any(|c| c.name == keep));
            let result = sdp::retain_codecs(offer, SectionKind::Video, &[keep]);
            if !has {
                assert!(
                    matches!(result, Err(SdpError::NoCodecLeft { .. })),
                    "{name} {keep}"
                );
                continue;
            }
            let munged = result.unwrap();
            let before = sdp::parse(offer).unwrap();
            let after = sdp::parse(&munged).unwrap();
            for (old, new) in before.media.iter().zip(&after.media) {
                if new.kind != SectionKind::Video {
                    let mut moved = old.clone();
                    moved.line = new.line;
                    assert_eq!(&moved, new, "{name}: non-video section changed");
                    continue;
                }
                let kept: Vec<u8> = new
                    .codecs
                    .iter()
                    .filter(|c| c.name == keep)
                    .map(|c| c.payload_type)
                    .collect();
                assert!(!kept.is_empty());
                for codec in &new.codecs {
                    let ok = codec.name == keep
                        || codec.rtx_for().is_some_and(|apt| kept.contains(&apt));
                    assert!(ok, "{name} {keep}: {codec:?} left");
                }
                let rtx = old
                    .codecs
                    .iter()
                    .filter(|c| c.rtx_for().is_some_and(|a| kept.contains(&a)))
                    .count();
                assert_eq!(
                    new.codecs.len(),
                    kept.len() + rtx,
                    "{name} {keep}: rtx lost"
                );
            }
            // No line mentions a dropped payload type any more.
            let dropped = munged
                .lines()
                .filter(|l| l.starts_with("a=rtcp-fb:") || l.starts_with("a=rtpmap:"));
            for line in dropped {
                let pt: u8 = line.split([':', ' ']).nth(1).unwrap().parse().unwrap();
                assert!(
                    after
                        .media
                        .iter()
                        .any(|m| m.codecs.iter().any(|c| c.payload_type == pt)),
                    "{line}"
                );
            }
            assert_eq!(
                sdp::retain_codecs(&munged, SectionKind::Video, &[keep]).unwrap(),
                munged
            );
        }
    }
}

#[test]
fn retain_audio_opus_only() {
    let offer = FIXTURES[1].1;
    let munged = sdp::retain_codecs(offer, SectionKind::Audio, &["opus"]).unwrap();
    assert!(munged.contains("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"));
    assert!(!munged.contains("a=rtpmap:63 ") && !munged.contains("a=fmtp:63 "));
    assert!(munged.contains("a=rtcp-fb:111 transport-cc\r\n"));
    let video = |s: &str| s[s.find("m=video").unwrap()..].to_owned();
    assert_eq!(video(offer), video(&munged));
}

#[test]
fn prefer_moves_codec_and_rtx_first() {
    for (name, offer) in FIXTURES {
        let munged = sdp::prefer_codecs(offer, SectionKind::Video, &["H264", "VP8"]).unwrap();
        let description = sdp::parse(&munged).unwrap();
        for video in description
            .media
            .iter()
            .filter(|m| m.kind == SectionKind::Video)
        {
            assert_eq!(video.codecs[0].name, "H264", "{name}");
            let first_other = video
                .codecs
                .iter()
                .position(|c| c.name != "H264" && c.name != "rtx")
                .unwrap();
            assert_eq!(video.codecs[first_other].name, "VP8", "{name}");
        }
        // Only m= lines change.
        let strip = |s: &str| {
            s.lines()
                .filter(|l| !l.starts_with("m="))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(strip(offer), strip(&munged), "{name}");
        assert_eq!(
            sdp::prefer_codecs(&munged, SectionKind::Video, &["H264", "VP8"]).unwrap(),
            munged
        );
    }
}

#[test]
fn read_helpers_on_browser_offers() {
    let tracks = sdp::parse(FIXTURES[1].1).unwrap();
    let kinds: Vec<_> = tracks.media.iter().map(|m| (m.kind, m.mid)).collect();
    assert_eq!(
        kinds,
        [
            (SectionKind::Audio, Some("0")),
            (SectionKind::Video, Some("1")),
            (SectionKind::Application, Some("2"))
        ]
    );
    assert!(tracks.has_data_channel());
    assert_eq!(tracks.media[0].direction, Direction::SendRecv);
    assert_eq!(tracks.media[0].codecs[0].name, "opus");
    assert_eq!(
        tracks.media[0].codecs[0].fmtp_param("useinbandfec"),
        Some("1")
    );
    let msid = tracks.media[1].msids[0];
    assert_eq!(
        Some(msid.stream_id),
        tracks.media[0].msids.first().map(|m| m.stream_id)
    );
    assert_eq!(tracks.media[1].track_id(), msid.track_id);
    assert!(tracks.media[1].codecs.iter().any(|c| c.name == "AV1"));

    let simulcast = sdp::parse(FIXTURES[2].1).unwrap();
    assert!(!simulcast.has_data_channel());
    let video = simulcast.by_mid("1").unwrap();
    assert_eq!(video.direction, Direction::SendOnly);
    let rids: Vec<_> = video.rids.iter().map(|r| (r.id, r.direction)).collect();
    assert_eq!(
        rids,
        [
            ("f", RidDirection::Send),
            ("h", RidDirection::Send),
            ("q", RidDirection::Send)
        ]
    );
    assert_eq!(video.simulcast, Some("send f;h;q"));

    let recvonly = sdp::parse(FIXTURES[3].1).unwrap();
    assert!(
        recvonly
            .media
            .iter()
            .all(|m| m.direction == Direction::RecvOnly && m.msids.is_empty())
    );

    let firefox = sdp::parse(FIXTURES[4].1).unwrap();
    let rtx = firefox.media[1]
        .codecs
        .iter()
        .find(|c| c.payload_type == 124)
        .unwrap();
    assert_eq!(rtx.rtx_for(), Some(120));
    assert!(firefox.has_data_channel());
    assert_eq!(firefox.media[0].codecs[2].name, "PCMU");
}

#[test]
fn session_direction_is_inherited() {
    let sdp = format!(
        "{MINIMAL}a=inactive\r\nm=audio 9 RTP/AVP 0\r\nm=audio 9 RTP/AVP 0\r\na=sendonly\r\n"
    );
    let description = sdp::parse(&sdp).unwrap();
    assert_eq!(description.media[0].direction, Direction::Inactive);
    assert_eq!(description.media[1].direction, Direction::SendOnly);
    assert_eq!(description.media[0].codecs[0].name, "PCMU");
}

#[test]
fn malformed_input_names_line_and_reason() {
    let cases: &[(&str, usize, Malformed)] = &[
        ("", 1, Malformed::Empty),
        ("v=1\r\n", 1, Malformed::NotVersionZero),
        ("hello", 1, Malformed::NotTypeValue),
        (
            "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n\r\ns=-\r\n",
            3,
            Malformed::BlankLine,
        ),
        (
            "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\nS=-\r\n",
            3,
            Malformed::NotTypeValue,
        ),
        (
            "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n",
            4,
            Malformed::MissingSessionLine('s'),
        ),
        (
            "v=0\r\ns=-\r\nt=0 0\r\n",
            3,
            Malformed::MissingSessionLine('o'),
        ),
        (
            "v=0\r\no=-\r\ns=-\r\nt=0 0\r\nv=0\r\n",
            5,
            Malformed::RepeatedVersion,
        ),
    ];
    for &(input, line, reason) in cases {
        assert_eq!(
            sdp::validate(input),
            Err(SdpError::Malformed { line, reason }),
            "{input:?}"
        );
    }
    let media: &[(&str, Malformed)] = &[
        ("m=audio", Malformed::MediaLine("missing port")),
        (
            "m=audio 99999 RTP/AVP 0",
            Malformed::MediaLine("port is not a number 0..=65535"),
        ),
        ("m=audio 9", Malformed::MediaLine("missing protocol")),
        ("m=audio 9 RTP/AVP", Malformed::MediaLine("no formats")),
        (
            "m=audio 9 RTP/AVP 0 128",
            Malformed::MediaLine("format is not a payload type 0..=127"),
        ),
        (
            "m=audio 9 RTP/AVP 0\r\na=rtpmap:x opus/48000",
            Malformed::Rtpmap("payload type is not a number 0..=127"),
        ),
        (
            "m=audio 9 RTP/AVP 0\r\na=rtpmap:111",
            Malformed::Rtpmap("missing encoding"),
        ),
        (
            "m=audio 9 RTP/AVP 0\r\na=rtpmap:111 opus",
            Malformed::Rtpmap("clock rate is not a number"),
        ),
        (
            "m=audio 9 RTP/AVP 0\r\na=rtpmap:111 opus/48000/two",
            Malformed::Rtpmap("channel count is not a number"),
        ),
        (
            "m=audio 9 RTP/AVP 0\r\na=fmtp:-1 x=1",
            Malformed::Fmtp("payload type is not a number 0..=127"),
        ),
    ];
    for &(tail, reason) in media {
        let input = format!("{MINIMAL}{tail}\r\n");
        let line = 4 + tail.matches('\n').count() + 1;
        let expected = Err(SdpError::Malformed { line, reason });
        assert_eq!(sdp::validate(&input), expected, "{tail}");
        // Every entry point reports the same error.
        assert_eq!(sdp::enable_opus_dtx(&input).map(drop), expected, "{tail}");
        assert_eq!(sdp::disable_opus_dtx(&input).map(drop), expected, "{tail}");
        assert_eq!(
            sdp::prefer_codecs(&input, SectionKind::Video, &["VP8"]).map(drop),
            expected
        );
        assert_eq!(
            sdp::retain_codecs(&input, SectionKind::Audio, &["opus"]).map(drop),
            expected
        );
        assert_eq!(sdp::parse(&input).map(drop), expected, "{tail}");
    }
    let message = sdp::validate("v=0\r\nwhat").unwrap_err().to_string();
    assert_eq!(message, "line 2: expected `<letter>=<value>`");
}

#[test]
fn opus_edits_reject_what_validate_rejects_anywhere() {
    let audio = "m=audio 9 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n";
    let broken_video = "m=video nine RTP/AVP 96\r\n\r\nnot a line\r\na=rtpmap:96\r\n";
    let settings = OpusSettings::new().dtx(true).stereo(true);
    type Edit<'a> = &'a dyn Fn(&str) -> Result<String, SdpError>;
    let opus_edits: [Edit; 3] = [&sdp::enable_opus_dtx, &sdp::disable_opus_dtx, &|s| {
        settings.apply(s)
    }];
    // A broken section that never mentions Opus, before or after the audio.
    for input in [
        format!("{MINIMAL}{broken_video}{audio}"),
        format!("{MINIMAL}{audio}{broken_video}"),
        format!("{MINIMAL}{audio}m=video 9 RTP/AVP 96\r\na=rtpmap:96 VP8\r\n"),
        format!("{MINIMAL}{audio}m=application 9 DTLS/SCTP 5000\r\n\r\n"),
        format!("{MINIMAL}{audio}m=video 9 RTP/AVP 96\r\nv=0\r\n"),
        audio.to_owned(),
    ] {
        let expected = sdp::validate(&input);
        assert!(
            matches!(expected, Err(SdpError::Malformed { .. })),
            "{input:?}"
        );
        for edit in opus_edits {
            assert_eq!(edit(&input).map(drop), expected, "{input:?}");
        }
    }
    // The first broken line is the one named, as `validate` names it.
    assert_eq!(
        sdp::enable_opus_dtx(&format!("{MINIMAL}{audio}{broken_video}")),
        Err(SdpError::Malformed {
            line: 7,
            reason: Malformed::MediaLine("port is not a number 0..=65535"),
        })
    );
}

/// A section left without codecs is only reported on input that validates:
/// a later malformed line wins, as `validate` names it.
#[test]
fn codec_edits_report_malformed_lines_before_no_codec_left() {
    let pcmu_only = "m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    let input = format!("{MINIMAL}{pcmu_only}m=video nine RTP/AVP 96\r\n");
    let expected = Err(SdpError::Malformed {
        line: 7,
        reason: Malformed::MediaLine("port is not a number 0..=65535"),
    });
    assert_eq!(sdp::validate(&input), expected);
    let kept = sdp::retain_codecs(&input, SectionKind::Audio, &["opus"]);
    assert_eq!(kept.map(drop), expected);
    let valid = format!("{MINIMAL}{pcmu_only}");
    assert_eq!(
        sdp::retain_codecs(&valid, SectionKind::Audio, &["opus"]),
        Err(SdpError::NoCodecLeft { line: 5 })
    );
}

#[test]
fn data_channel_fmtp_outside_rtp_is_not_a_payload_type() {
    let sdp = format!(
        "{MINIMAL}m=application 9 DTLS/SCTP 5000\r\na=fmtp:webrtc-datachannel max-message-size=1\r\n"
    );
    assert_eq!(sdp::validate(&sdp), Ok(()));
    assert_eq!(sdp::enable_opus_dtx(&sdp).unwrap(), sdp);
    assert!(sdp::parse(&sdp).unwrap().has_data_channel());
}

/// Found by the fuzzer: a payload type mapped twice (rtx first) and an rtx
/// repairing another rtx made a second filter pass drop more.
#[test]
fn retain_is_stable_with_repeated_rtpmaps_and_rtx_chains() {
    let sdp = format!(
        "{MINIMAL}m=video 9 RTP/AVP 120 124 96\r\na=rtpmap:120 rtx/90000\r\na=fmtp:120 apt=119\r\n\
         a=rtpmap:120 VP8/90000\r\na=rtpmap:124 rtx/90000\r\na=fmtp:124 apt=120\r\na=rtpmap:96 VP8/90000\r\n"
    );
    let once = sdp::retain_codecs(&sdp, SectionKind::Video, &["VP8"]).unwrap();
    assert!(once.contains("m=video 9 RTP/AVP 96\r\n"), "{once}");
    assert_eq!(
        sdp::retain_codecs(&once, SectionKind::Video, &["VP8"]).unwrap(),
        once
    );
}

/// Inputs shaped to hit quadratic paths (many payload types, fmtp lines,
/// parameters and sections) must still finish quickly.
#[test]
fn hostile_inputs_stay_linear() {
    let many_fmtp = format!(
        "{MINIMAL}m=audio 9 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n{}",
        "a=fmtp:111 usedtx=0\r\n".repeat(50_000)
    );
    let many_params = format!(
        "{MINIMAL}m=audio 9 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 {}\r\n",
        "x=1;".repeat(200_000)
    );
    let many_sections = format!("{MINIMAL}{}", "m=audio 9 RTP/AVP 111 96 97\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n".repeat(20_000));
    let many_formats = format!(
        "{MINIMAL}m=video 9 RTP/AVP {}\r\n{}",
        "96 ".repeat(100_000).trim_end(),
        "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\n".repeat(20_000)
    );
    for input in [many_fmtp, many_params, many_sections, many_formats] {
        let started = std::time::Instant::now();
        let dtx = sdp::enable_opus_dtx(&input).unwrap();
        assert_eq!(sdp::enable_opus_dtx(&dtx).unwrap(), dtx);
        let _ = sdp::retain_codecs(&input, SectionKind::Video, &["VP8"]);
        let _ = sdp::prefer_codecs(&input, SectionKind::Audio, &["opus"]);
        sdp::parse(&input).unwrap();
        // Linear work on ~2 MB takes milliseconds; quadratic would take minutes.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
    }
}
