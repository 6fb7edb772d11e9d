//! Run counters: what the summary at the end of `otposture analyze` reports.

use otposture_flow::{DefragStats, TableStats};
use otposture_model::{StreamAnomalies, Timestamp};
use std::collections::BTreeMap;

/// Counters of one engine run.
#[derive(Clone, Debug, Default)]
pub struct EngineStats {
    /// Packets processed.
    pub packets: u64,
    /// Captured bytes processed.
    pub bytes: u64,
    /// Bytes on the wire (original lengths).
    pub wire_bytes: u64,
    /// First packet time.
    pub first_ts: Option<Timestamp>,
    /// Last packet time.
    pub last_ts: Option<Timestamp>,
    /// Packets cut short by the snap length.
    pub snapped: u64,
    /// IP packets whose payload was cut short.
    pub truncated_ip: u64,
    /// TCP segments.
    pub tcp: u64,
    /// UDP datagrams.
    pub udp: u64,
    /// ICMP messages.
    pub icmp: u64,
    /// Other IP protocols.
    pub other_ip: u64,
    /// Non-IP frames.
    pub l2_frames: u64,
    /// Non-IP EtherTypes without a dissector, with counts.
    pub ethertypes: BTreeMap<u16, u64>,
    /// IEEE 802.3 frames with an 802.2 LLC header, per kind (`stp`, `cdp`,
    /// `vtp`, `dtp`, `pvst`, other `snap`, other `llc`).
    pub llc_frames: BTreeMap<&'static str, u64>,
    /// Mirrored frames taken out of the packets that carried them, packets
    /// out of routed GRE tunnels, what MPLS label stacks carried, and frames
    /// without their HSR tag, per encapsulation (`erspan1`, `erspan2`,
    /// `erspan3`, `gre_ethernet`, `vxlan`, `gre_ip`, `mpls`, `hsr`).
    pub decapsulated: BTreeMap<&'static str, u64>,
    /// HSR ring copies of a frame already analysed, passed over.
    pub hsr_duplicates: u64,
    /// Frames with a PRP trailer analysed, per LAN they were sent on
    /// (`lan_a`, `lan_b`).
    pub prp_frames: BTreeMap<&'static str, u64>,
    /// PRP copies (from the sender's other LAN) of a frame already analysed,
    /// passed over.
    pub prp_duplicates: u64,
    /// Packets on interfaces with an unsupported link type, per LINKTYPE_.
    pub unsupported_link_types: BTreeMap<u32, u64>,
    /// Frames that did not decode, per error kind.
    pub decode_errors: BTreeMap<&'static str, u64>,
    /// Flows ended, total.
    pub flows: u64,
    /// Flows ended, per reason.
    pub flow_ends: BTreeMap<&'static str, u64>,
    /// Flows open now.
    pub flows_open: u64,
    /// Long flows whose records rotated at the maximum age.
    pub max_age_rotations: u64,
    /// Hosts seen.
    pub hosts: u64,
    /// Stream anomalies summed over ended flows.
    pub anomalies: StreamAnomalies,
    /// Flow table counters (caps, evictions, timeouts).
    pub flow_table: TableStats,
    /// Fragment reassembly counters.
    pub defrag: DefragStats,
    /// Events not kept because too many arrived between two checkpoints.
    pub events_dropped: u64,
    /// Identity events not kept because they repeated, unchanged, the last one
    /// of the same name from the same sender on the same flow (the message is
    /// still counted).
    pub identities_repeated: u64,
    /// Anomaly events not kept: past the first 100 of a kind (protocol, name,
    /// what was wrong) on one flow, or past half of the events pending
    /// between two checkpoints. Every one is still counted in `malformed` and
    /// the flow's anomalies.
    pub anomaly_events_unkept: u64,
    /// Flows on an industrial protocol's own port that carried something else
    /// (`port.unexpected_protocol` events).
    pub unexpected_protocols: u64,
    /// Messages per (protocol, operation class).
    pub messages: Vec<(String, String, u64)>,
    /// Approximate memory held by flows, buffers and fragments.
    pub memory_bytes: u64,
}

impl EngineStats {
    pub(crate) fn count_error(&mut self, kind: &'static str) {
        *self.decode_errors.entry(kind).or_insert(0) += 1;
    }

    pub(crate) fn add_anomalies(&mut self, a: &StreamAnomalies) {
        let s = &mut self.anomalies;
        s.gap_bytes += a.gap_bytes;
        s.gaps += a.gaps;
        s.retransmissions += a.retransmissions;
        s.overlaps += a.overlaps;
        s.conflicting_overlaps += a.conflicting_overlaps;
        s.out_of_order += a.out_of_order;
        s.buffer_cap_hits += a.buffer_cap_hits;
        s.malformed += a.malformed;
    }
}
