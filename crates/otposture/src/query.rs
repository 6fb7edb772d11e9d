//! The listing commands: `hosts`, `flows`, `events`, `captures`.

use crate::output::{network_column, print, Format};
use anyhow::Context;
use clap::Args;
use otposture_model::{EventKind, FlowId, MacAddr, OperationClass, Timestamp, Transport};
use otposture_store::{EventFilter, FlowFilter, HostFilter, IpNet, MessageFilter, Store};
use std::path::PathBuf;

/// JSON schema versions of the listings (docs/json-schema.md).
const HOSTS_SCHEMA: u32 = 1;
const FLOWS_SCHEMA: u32 = 1;
const EVENTS_SCHEMA: u32 = 1;
const CAPTURES_SCHEMA: u32 = 1;
const OPERATIONS_SCHEMA: u32 = 1;

/// What every listing takes: a time window, a row limit and an output format.
#[derive(Args, Debug)]
pub(crate) struct Listing {
    /// Only rows seen at or after this time (Unix seconds or RFC 3339 UTC).
    #[arg(long, value_parser = parse_time)]
    since: Option<Timestamp>,
    /// Only rows seen at or before this time.
    #[arg(long, value_parser = parse_time)]
    until: Option<Timestamp>,
    /// At most this many rows.
    #[arg(long)]
    limit: Option<u32>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

fn parse_class(s: &str) -> Result<OperationClass, String> {
    OperationClass::parse(s).ok_or_else(|| format!("{s:?} is not an operation class"))
}

pub(crate) fn open(db: Option<PathBuf>) -> anyhow::Result<Store> {
    let db = crate::require_db(db)?;
    if !db.exists() {
        anyhow::bail!("database {} does not exist yet: run `otposture analyze <capture>` first", db.display());
    }
    Store::open(&db).with_context(|| format!("opening database {}", db.display()))
}

/// Parses RFC 3339 UTC (`2024-03-01T08:00:00Z`, fraction optional) or Unix seconds.
pub(crate) fn parse_time(s: &str) -> Result<Timestamp, String> {
    if let Ok(secs) = s.parse::<i64>() {
        return Ok(Timestamp::from_parts(secs, 0));
    }
    let bad = || format!("{s:?} is not a time: use Unix seconds or RFC 3339 UTC like 2024-03-01T08:00:00Z");
    let s2 = s.strip_suffix('Z').ok_or_else(bad)?;
    let (date, time) = s2.split_once('T').ok_or_else(bad)?;
    let d: Vec<i64> = date.split('-').map(|x| x.parse().map_err(|_| bad())).collect::<Result<_, _>>()?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let t: Vec<i64> = hms.split(':').map(|x| x.parse().map_err(|_| bad())).collect::<Result<_, _>>()?;
    let (&[y, mo, da], &[h, mi, se]) = (d.as_slice(), t.as_slice()) else { return Err(bad()) };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&da) || h > 23 || mi > 59 || se > 60 {
        return Err(bad());
    }
    // Days from civil (H. Hinnant).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + da - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let nanos: u32 = format!("{frac:0<9}").get(..9).and_then(|f| f.parse().ok()).ok_or_else(bad)?;
    Ok(Timestamp::from_parts(days * 86_400 + h * 3600 + mi * 60 + se, nanos))
}

fn parse_net(s: &str) -> Result<IpNet, String> {
    s.parse::<IpNet>().map_err(|e| e.to_string())
}

#[derive(Args, Debug)]
pub(crate) struct HostsArgs {
    /// Only hosts with this address or inside this CIDR block (10.0.0.5, 10.0.0.0/8, fe80::/10).
    #[arg(long, value_parser = parse_net)]
    ip: Option<IpNet>,
    /// Only hosts with this MAC address.
    #[arg(long)]
    mac: Option<MacAddr>,
    /// Only hosts on this VLAN.
    #[arg(long)]
    vlan: Option<u16>,
    /// Only hosts seen in this network (`analyze --network NAME`).
    #[arg(long, value_name = "NAME", value_parser = crate::analyze::parse_network)]
    network: Option<String>,
    #[command(flatten)]
    listing: Listing,
}

pub(crate) fn hosts(a: HostsArgs, db: Option<PathBuf>) -> anyhow::Result<u8> {
    let store = open(db)?;
    let rows = store.hosts(&HostFilter {
        ip: a.ip,
        mac: a.mac,
        vlan: a.vlan,
        network: a.network,
        since: a.listing.since,
        until: a.listing.until,
        limit: a.listing.limit,
    })?;
    let columns = network_column(
        &[
            ("ip", "IP"),
            ("mac", "MAC"),
            ("vlan", "VLAN"),
            ("host_name", "NAME"),
            ("source", "SEEN BY"),
            ("first_seen", "FIRST SEEN"),
            ("last_seen", "LAST SEEN"),
            ("flows_as_client", "CLIENT"),
            ("flows_as_server", "SERVER"),
            ("packets_sent", "PKTS OUT"),
            ("bytes_sent", "BYTES OUT"),
        ],
        ("network", 3),
        rows.iter().any(|r| r.network.is_some()),
    );
    print(&rows, "hosts", HOSTS_SCHEMA, a.listing.format, &columns)?;
    Ok(crate::exit::OK)
}

#[derive(Args, Debug)]
pub(crate) struct FlowsArgs {
    /// Only flows with an endpoint at this address or inside this CIDR block.
    #[arg(long, value_parser = parse_net)]
    ip: Option<IpNet>,
    /// Only flows with this port on either side.
    #[arg(long)]
    port: Option<u16>,
    /// Only this transport: tcp, udp, icmp, icmpv6, ip-N.
    #[arg(long, value_parser = |s: &str| Transport::parse(s).ok_or_else(|| format!("{s:?} is not a transport: tcp, udp, icmp, icmpv6 or ip-N")))]
    transport: Option<Transport>,
    /// Only flows whose application protocol was identified as this (e.g. dhcp).
    #[arg(long)]
    protocol: Option<String>,
    /// Only flows on this VLAN.
    #[arg(long)]
    vlan: Option<u16>,
    #[command(flatten)]
    listing: Listing,
}

pub(crate) fn flows(a: FlowsArgs, db: Option<PathBuf>) -> anyhow::Result<u8> {
    let store = open(db)?;
    let rows = store.flows(&FlowFilter {
        ip: a.ip,
        port: a.port,
        transport: a.transport,
        app_protocol: a.protocol,
        vlan: a.vlan,
        since: a.listing.since,
        until: a.listing.until,
        limit: a.listing.limit,
    })?;
    print(
        &rows,
        "flows",
        FLOWS_SCHEMA,
        a.listing.format,
        &[
            ("transport", "PROTO"),
            ("client_ip", "CLIENT"),
            ("client_port", "CPORT"),
            ("server_ip", "SERVER"),
            ("server_port", "SPORT"),
            ("vlan", "VLAN"),
            ("app_protocol", "APP"),
            ("packets_to_server", "PKTS>"),
            ("bytes_to_server", "BYTES>"),
            ("packets_to_client", "<PKTS"),
            ("bytes_to_client", "<BYTES"),
            ("tcp_state", "STATE"),
            ("first_seen", "FIRST SEEN"),
            ("end_reason", "END"),
        ],
    )?;
    Ok(crate::exit::OK)
}

#[derive(Args, Debug)]
pub(crate) struct EventsArgs {
    /// Only events from or to this address or CIDR block.
    #[arg(long, value_parser = parse_net)]
    ip: Option<IpNet>,
    /// Only events of this protocol (dhcp, arp, pcapng, ...).
    #[arg(long)]
    protocol: Option<String>,
    /// Only events of this kind: identity, operation, anomaly, annotation.
    #[arg(long, value_parser = |s: &str| serde_json::from_value::<EventKind>(serde_json::Value::String(s.to_string())).map_err(|_| format!("{s:?} is not an event kind: identity, operation, anomaly, annotation")))]
    kind: Option<EventKind>,
    /// Only operations of this class: read, write, program, firmware, control, configuration, ...
    #[arg(long, value_parser = parse_class)]
    class: Option<OperationClass>,
    #[command(flatten)]
    listing: Listing,
}

pub(crate) fn events(a: EventsArgs, db: Option<PathBuf>) -> anyhow::Result<u8> {
    let store = open(db)?;
    let rows = store.events(&EventFilter {
        ip: a.ip,
        protocol: a.protocol,
        kind: a.kind,
        class: a.class,
        since: a.listing.since,
        until: a.listing.until,
        limit: a.listing.limit,
        ..EventFilter::default()
    })?;
    print(
        &rows,
        "events",
        EVENTS_SCHEMA,
        a.listing.format,
        &[
            ("ts", "TIME"),
            ("protocol", "PROTO"),
            ("kind", "KIND"),
            ("name", "NAME"),
            ("class", "CLASS"),
            ("src_ip", "SOURCE"),
            ("src_mac", "SOURCE MAC"),
            ("dst_ip", "DESTINATION"),
            ("packet", "PACKET"),
            ("attributes", "ATTRIBUTES"),
        ],
    )?;
    Ok(crate::exit::OK)
}

#[derive(Args, Debug)]
pub(crate) struct OperationsArgs {
    /// Only operations in flows from or to this address or CIDR block.
    #[arg(long, value_parser = parse_net)]
    ip: Option<IpNet>,
    /// Only operations in this flow (its flow_id).
    #[arg(long)]
    flow: Option<i64>,
    /// Only operations of this protocol (modbus, dnp3, s7comm, enip, cip, ...).
    #[arg(long)]
    protocol: Option<String>,
    /// Only operations of this class: read, write, program, firmware, control, configuration, ...
    #[arg(long, value_parser = parse_class)]
    class: Option<OperationClass>,
    #[command(flatten)]
    listing: Listing,
}

/// Every protocol operation seen, counted: reads and polls as well as the
/// writes and controls that `events` keeps one by one.
pub(crate) fn operations(a: OperationsArgs, db: Option<PathBuf>) -> anyhow::Result<u8> {
    let store = open(db)?;
    let rows = store.operations(&MessageFilter {
        flow: a.flow.map(FlowId),
        ip: a.ip,
        protocol: a.protocol,
        class: a.class,
        since: a.listing.since,
        until: a.listing.until,
        limit: a.listing.limit,
    })?;
    print(
        &rows,
        "operations",
        OPERATIONS_SCHEMA,
        a.listing.format,
        &[
            ("protocol", "PROTO"),
            ("operation", "OPERATION"),
            ("class", "CLASS"),
            ("messages", "MESSAGES"),
            ("to_server", "TO SERVER"),
            ("to_client", "TO CLIENT"),
            ("flows", "FLOWS"),
            ("first_seen", "FIRST SEEN"),
            ("last_seen", "LAST SEEN"),
        ],
    )?;
    Ok(crate::exit::OK)
}

#[derive(Args, Debug)]
pub(crate) struct CapturesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

pub(crate) fn captures(a: CapturesArgs, db: Option<PathBuf>) -> anyhow::Result<u8> {
    let store = open(db)?;
    let rows = store.captures()?;
    let columns = network_column(
        &[
            ("id", "ID"),
            ("path", "PATH"),
            ("status", "STATUS"),
            ("packets", "PACKETS"),
            ("bytes", "BYTES"),
            ("first_ts", "FIRST PACKET"),
            ("last_ts", "LAST PACKET"),
            ("error", "ERROR"),
        ],
        ("network", 2),
        rows.iter().any(|r| r.network.is_some()),
    );
    print(&rows, "captures", CAPTURES_SCHEMA, a.format, &columns)?;
    Ok(crate::exit::OK)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_times_in_both_forms() {
        assert_eq!(parse_time("0").unwrap(), Timestamp(0));
        assert_eq!(parse_time("2024-03-01T08:00:00Z").unwrap(), Timestamp::from_parts(1_709_280_000, 0));
        assert_eq!(parse_time("2024-03-01T08:00:00.5Z").unwrap(), Timestamp::from_parts(1_709_280_000, 500_000_000));
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("2024-13-01T00:00:00Z").is_err());
    }
}
