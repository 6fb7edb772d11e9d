//! The text each model enumeration is stored as, and back.
//!
//! The names are the model's serde (snake_case) names, so a column reads the same
//! as the JSON the CLI prints. The matches are exhaustive on purpose: a new model
//! variant fails to compile here, which is the prompt to decide whether the schema
//! needs a migration.

use otposture_model::{Direction, EventKind, FlowEnd, HostSource, InitiatorBasis, OperationClass, TcpState};

pub(crate) fn host_source(s: HostSource) -> &'static str {
    match s {
        HostSource::Ip => "ip",
        HostSource::Arp => "arp",
        HostSource::Dhcp => "dhcp",
        HostSource::L2 => "l2",
    }
}

pub(crate) fn parse_host_source(s: &str) -> Option<HostSource> {
    Some(match s {
        "ip" => HostSource::Ip,
        "arp" => HostSource::Arp,
        "dhcp" => HostSource::Dhcp,
        "l2" => HostSource::L2,
        _ => return None,
    })
}

pub(crate) fn initiator(b: InitiatorBasis) -> &'static str {
    match b {
        InitiatorBasis::Handshake => "handshake",
        InitiatorBasis::PortHeuristic => "port_heuristic",
        InitiatorBasis::Protocol => "protocol",
        InitiatorBasis::FirstPacket => "first_packet",
    }
}

pub(crate) fn parse_initiator(s: &str) -> Option<InitiatorBasis> {
    Some(match s {
        "handshake" => InitiatorBasis::Handshake,
        "port_heuristic" => InitiatorBasis::PortHeuristic,
        "protocol" => InitiatorBasis::Protocol,
        "first_packet" => InitiatorBasis::FirstPacket,
        _ => return None,
    })
}

pub(crate) fn parse_tcp_state(s: &str) -> Option<TcpState> {
    [
        TcpState::SynSent,
        TcpState::SynReceived,
        TcpState::Established,
        TcpState::Midstream,
        TcpState::Closing,
        TcpState::Closed,
        TcpState::Reset,
    ]
    .into_iter()
    .find(|t| t.name() == s)
}

pub(crate) fn parse_flow_end(s: &str) -> Option<FlowEnd> {
    [FlowEnd::Open, FlowEnd::Closed, FlowEnd::IdleTimeout, FlowEnd::MaxAge, FlowEnd::Evicted]
        .into_iter()
        .find(|e| e.name() == s)
}

pub(crate) fn direction(d: Direction) -> &'static str {
    match d {
        Direction::ToServer => "to_server",
        Direction::ToClient => "to_client",
    }
}

pub(crate) fn parse_direction(s: &str) -> Option<Direction> {
    match s {
        "to_server" => Some(Direction::ToServer),
        "to_client" => Some(Direction::ToClient),
        _ => None,
    }
}

pub(crate) fn event_kind(k: EventKind) -> &'static str {
    match k {
        EventKind::Identity => "identity",
        EventKind::Operation => "operation",
        EventKind::Anomaly => "anomaly",
        EventKind::Annotation => "annotation",
    }
}

pub(crate) fn parse_event_kind(s: &str) -> Option<EventKind> {
    Some(match s {
        "identity" => EventKind::Identity,
        "operation" => EventKind::Operation,
        "anomaly" => EventKind::Anomaly,
        "annotation" => EventKind::Annotation,
        _ => return None,
    })
}

pub(crate) fn parse_class(s: &str) -> Option<OperationClass> {
    OperationClass::parse(s)
}

/// Stored form of a u64 counter: SQLite integers are i64; saturate rather than wrap.
pub(crate) fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A stored counter read back; negative values cannot be written, so read them as 0.
pub(crate) fn uint(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stored names must equal the model's serde names, which the CLI prints as JSON.
    fn serde_name<T: serde::Serialize>(v: T) -> String {
        match serde_json::to_value(v) {
            Ok(serde_json::Value::String(s)) => s,
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn stored_names_match_the_model_serde_names_and_round_trip() {
        for s in [HostSource::Ip, HostSource::Arp, HostSource::Dhcp, HostSource::L2] {
            assert_eq!(host_source(s), serde_name(s));
            assert_eq!(parse_host_source(host_source(s)), Some(s));
        }
        for b in [
            InitiatorBasis::Handshake,
            InitiatorBasis::PortHeuristic,
            InitiatorBasis::Protocol,
            InitiatorBasis::FirstPacket,
        ] {
            assert_eq!(initiator(b), serde_name(b));
            assert_eq!(parse_initiator(initiator(b)), Some(b));
        }
        for d in [Direction::ToServer, Direction::ToClient] {
            assert_eq!(direction(d), serde_name(d));
            assert_eq!(parse_direction(direction(d)), Some(d));
        }
        for k in [EventKind::Identity, EventKind::Operation, EventKind::Anomaly, EventKind::Annotation] {
            assert_eq!(event_kind(k), serde_name(k));
            assert_eq!(parse_event_kind(event_kind(k)), Some(k));
        }
        for t in [TcpState::SynSent, TcpState::Established, TcpState::Reset] {
            assert_eq!(t.name(), serde_name(t));
            assert_eq!(parse_tcp_state(t.name()), Some(t));
        }
        for e in [FlowEnd::Open, FlowEnd::IdleTimeout, FlowEnd::Evicted] {
            assert_eq!(e.name(), serde_name(e));
            assert_eq!(parse_flow_end(e.name()), Some(e));
        }
    }

    #[test]
    fn counters_saturate_instead_of_wrapping() {
        assert_eq!(int(u64::MAX), i64::MAX);
        assert_eq!(uint(-5), 0);
        assert_eq!(uint(int(42)), 42);
    }
}
