//! How a peer task carries out the API layer's commands.

use std::time::Instant;

use str0m::channel::{ChannelConfig, Reliability};
use str0m::media::{Mid, Rid};

use super::{Gate, MAX_HELD, Peer};
use crate::rtc::{ChannelSpec, Cmd, OfferSpec, SdpFailure};

impl Peer {
    pub(super) fn command(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::AcceptOffer(offer, reply) => {
                let res = if self.pending.is_some() {
                    Err(SdpFailure::HaveLocalOffer)
                } else {
                    self.rtc
                        .sdp_api()
                        .accept_offer(*offer)
                        .map(|a| a.to_sdp_string())
                        .map_err(|e| SdpFailure::Invalid(e.to_string()))
                };
                let _ = reply.send(res);
            }
            Cmd::CreateOffer(spec, reply) => {
                let _ = reply.send(self.create_offer(spec));
            }
            Cmd::AcceptAnswer(answer, reply) => {
                let res = match self.pending.take() {
                    None => Err(SdpFailure::Invalid(
                        "no offer is waiting for an answer".into(),
                    )),
                    Some(p) => self
                        .rtc
                        .sdp_api()
                        .accept_answer(p, *answer)
                        .map_err(|e| SdpFailure::Invalid(e.to_string())),
                };
                let _ = reply.send(res);
            }
            Cmd::WatchIdle(mids) => {
                let now = Instant::now();
                for m in mids {
                    self.watched.insert(m, now);
                }
            }
            Cmd::AddMediaRoute { mid_in, to } => {
                self.media_routes.entry(mid_in).or_default().push(to);
            }
            Cmd::RemoveMediaRoutes { peer, mid_out } => {
                for routes in self.media_routes.values_mut() {
                    routes
                        .retain(|t| t.peer != peer || mid_out.as_ref().is_some_and(|m| *m != t.id));
                }
            }
            Cmd::SetSource { mid_out, from } => {
                self.stopped.remove(&mid_out);
                self.sources.insert(mid_out, from);
            }
            Cmd::SetPreferredRid { mid_out, rid } => match rid {
                Some(r) => {
                    self.preferred_rid.insert(mid_out, Rid::from(r.as_str()));
                }
                None => {
                    self.preferred_rid.remove(&mid_out);
                }
            },
            Cmd::StopMids(mids) => {
                for m in mids {
                    self.media_routes.remove(&m);
                    self.sources.remove(&m);
                    self.watched.remove(&m);
                    self.stopped.insert(m);
                }
            }
            Cmd::Media { mid_out, data } => self.write_media(&mid_out, &data),
            Cmd::Keyframe { mid_in, kind } => {
                if let Some(mut w) = self.rtc.writer(Mid::from(mid_in.as_str())) {
                    let _ = w.request_keyframe(None, kind);
                }
            }
            Cmd::OpenChannel(spec) => {
                if !self.channels.contains_key(&spec.id) {
                    let id = spec.id;
                    let cid = self
                        .rtc
                        .direct_api()
                        .create_data_channel(channel_config(spec));
                    self.channels.insert(id, cid);
                }
            }
            Cmd::CloseChannel(id) => self.close_channel(id),
            Cmd::AddChannelRoute { id_in, to } => {
                self.channel_routes.entry(id_in).or_default().push(to);
            }
            Cmd::RemoveChannelRoutes { peer, id_out } => {
                for routes in self.channel_routes.values_mut() {
                    routes.retain(|t| t.peer != peer || id_out.is_some_and(|i| i != t.id));
                }
            }
            Cmd::SetReply { id, to } => match to {
                Some(t) => {
                    self.replies.insert(id, t);
                }
                None => {
                    self.replies.remove(&id);
                }
            },
            Cmd::GateUntilAck { id } => {
                let deadline = Instant::now() + self.ack_timeout;
                self.gated.insert(
                    id,
                    Gate {
                        deadline,
                        held: Vec::new(),
                    },
                );
            }
            Cmd::ChannelSend { id, binary, data } => match self.gated.get_mut(&id) {
                Some(g) if g.held.len() < MAX_HELD => g.held.push((binary, data)),
                Some(_) => {}
                None => self.write_channel(id, binary, &data),
            },
            Cmd::Partition(d) => self.partitioned_until = Some(Instant::now() + d),
            Cmd::Shutdown => {}
        }
    }

    fn create_offer(&mut self, spec: OfferSpec) -> Result<(String, Vec<String>), SdpFailure> {
        if self.pending.is_some() {
            return Err(SdpFailure::HaveLocalOffer);
        }
        let mut api = self.rtc.sdp_api();
        let mids: Vec<String> = spec
            .add
            .iter()
            .map(|m| api.add_media(m.kind, m.dir, None, None, None).to_string())
            .collect();
        let mut opened = Vec::new();
        for ch in spec.channels {
            let id = ch.id;
            opened.push((id, api.add_channel_with_config(channel_config(ch))));
        }
        if !api.has_changes() {
            return Err(SdpFailure::NoChange);
        }
        let (offer, pending) = api.apply().ok_or(SdpFailure::NoChange)?;
        self.pending = Some(pending);
        self.channels.extend(opened);
        Ok((offer.to_sdp_string(), mids))
    }
}

fn channel_config(spec: ChannelSpec) -> ChannelConfig {
    let clamp = |v: u32| u16::try_from(v).unwrap_or(u16::MAX);
    let reliability = match (spec.max_retransmits, spec.max_packet_life_time) {
        (Some(n), _) => Reliability::MaxRetransmits {
            retransmits: clamp(n),
        },
        (None, Some(ms)) => Reliability::MaxPacketLifetime {
            lifetime: clamp(ms),
        },
        (None, None) => Reliability::Reliable,
    };
    ChannelConfig {
        label: spec.label,
        ordered: spec.ordered,
        reliability,
        negotiated: Some(spec.id),
        protocol: String::new(),
    }
}
