//! A real DNP3 exchange on loopback, for otposture's tests: stepfunc's `dnp3`
//! outstation (TCP server) and master talk over 127.0.0.1, tcpdump captures
//! it, and `otposture analyze` must see every control.
//!
//! ```text
//! otposture-peer-dnp3 PORT        (TCP)
//! otposture-peer-dnp3 PORT udp    (UDP)
//! ```
//!
//! The outstation (link address 1024) holds binary inputs, analog inputs,
//! counters, binary output and analog output statuses, and group 0 device
//! attributes. The master (link address 1) runs, in order: an integrity poll
//! (class 1, 2, 3 and 0), a read of all device attributes (g0v254), a CROB
//! select-before-operate, a CROB direct operate, an analog output (g41v2)
//! direct operate, a LAN time synchronisation (record current time, then
//! write g50v3) and a cold restart. It then prints one JSON object saying what
//! was done and what the outstation answered, and exits.
//!
//! Over UDP the outstation is on 127.0.0.1:PORT and the master on
//! 127.0.0.2:PORT, the same port at both ends as DNP3/UDP sites configure
//! (20000 to 20000). The master starts quiet; the outstation then starts with
//! unsolicited reporting on, so the capture opens on its null unsolicited
//! response, which the master confirms. The master then polls class 0, 1, 2
//! and 3, direct-operates a CROB and warm-restarts the outstation.
//!
//! Only TCP, UDP and a current-thread runtime: no TLS, no serial port, so the
//! crate builds quickly.

use dnp3::app::attr::{AllAttributes, AnyAttribute, AttrProp, AttrSet, KnownAttribute, StringAttr};
use dnp3::app::control::{CommandStatus, Group12Var1, Group41Var2, OpType};
use dnp3::app::measurement::{AnalogInput, AnalogOutputStatus, BinaryInput, BinaryOutputStatus, Counter, Flags, Time};
use dnp3::app::{MaybeAsync, NullListener, ResponseHeader, Timeout, Timestamp};
use dnp3::link::{EndpointAddress, LinkErrorMode, LinkReadMode};
use dnp3::master::{
    AssociationConfig, AssociationHandler, AssociationInformation, Classes, CommandBuilder, CommandMode,
    CommandSupport, HeaderInfo, MasterChannelConfig, ReadHandler, ReadRequest, ReadType, TimeSyncProcedure,
};
use dnp3::outstation::database::{
    Add, AnalogInputConfig, AnalogOutputStatusConfig, BinaryInputConfig, BinaryOutputStatusConfig, CounterConfig,
    EventBufferConfig, EventClass, Update, UpdateOptions,
};
use dnp3::outstation::{
    DefaultControlHandler, OutstationApplication, OutstationConfig, OutstationHandle, OutstationInformation,
    RequestError, RestartDelay,
};
use dnp3::tcp::{spawn_master_tcp_client, AddressFilter, EndpointList, Server};
use dnp3::udp::{spawn_master_udp, spawn_outstation_udp, OutstationUdpConfig, UdpSocketMode};
use std::error::Error;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Link address of the master.
const MASTER: u16 = 1;
/// Link address of the outstation.
const OUTSTATION: u16 = 1024;
/// Points of each type in the outstation's database.
const POINTS: u16 = 4;

/// The group 0 string attributes the outstation publishes (variation, text).
const ATTRIBUTES: [(StringAttr, &str); 5] = [
    (StringAttr::DeviceManufacturersName, "otposture-peer"),
    (StringAttr::ProductNameAndModel, "stepfunc dnp3 test outstation"),
    (StringAttr::DeviceManufacturerSoftwareVersion, "1.7.0"),
    (StringAttr::DeviceSerialNumber, "SN-20000"),
    (StringAttr::UserAssignedLocation, "loopback"),
];

/// Accepts time writes and restarts; everything else stays at its default.
struct Application;

impl OutstationApplication for Application {
    fn write_absolute_time(&mut self, _time: Timestamp) -> Result<(), RequestError> {
        Ok(())
    }
    fn cold_restart(&mut self) -> Option<RestartDelay> {
        Some(RestartDelay::Seconds(1))
    }
    fn warm_restart(&mut self) -> Option<RestartDelay> {
        Some(RestartDelay::Seconds(1))
    }
}

/// No interest in the outstation's state machine.
struct Information;

impl OutstationInformation for Information {}

/// Keeps the device attributes the master reads, and counts measurement headers.
#[derive(Clone, Default)]
struct Reads {
    attributes: Arc<Mutex<Vec<(u8, String)>>>,
    headers: Arc<Mutex<u32>>,
}

impl Reads {
    fn header(&self) {
        if let Ok(mut n) = self.headers.lock() {
            *n += 1;
        }
    }
}

impl ReadHandler for Reads {
    fn begin_fragment(&mut self, _read_type: ReadType, _header: ResponseHeader) -> MaybeAsync<()> {
        MaybeAsync::ready(())
    }
    fn end_fragment(&mut self, _read_type: ReadType, _header: ResponseHeader) -> MaybeAsync<()> {
        MaybeAsync::ready(())
    }
    fn handle_binary_input(&mut self, _info: HeaderInfo, _iter: &mut dyn Iterator<Item = (BinaryInput, u16)>) {
        self.header();
    }
    fn handle_analog_input(&mut self, _info: HeaderInfo, _iter: &mut dyn Iterator<Item = (AnalogInput, u16)>) {
        self.header();
    }
    fn handle_counter(&mut self, _info: HeaderInfo, _iter: &mut dyn Iterator<Item = (Counter, u16)>) {
        self.header();
    }
    fn handle_binary_output_status(
        &mut self,
        _info: HeaderInfo,
        _iter: &mut dyn Iterator<Item = (BinaryOutputStatus, u16)>,
    ) {
        self.header();
    }
    fn handle_analog_output_status(
        &mut self,
        _info: HeaderInfo,
        _iter: &mut dyn Iterator<Item = (AnalogOutputStatus, u16)>,
    ) {
        self.header();
    }
    fn handle_device_attribute(&mut self, _info: HeaderInfo, attr: AnyAttribute) {
        if let AnyAttribute::Known(KnownAttribute::String(a, text)) = attr {
            if let Ok(mut v) = self.attributes.lock() {
                v.push((a.variation(), text.to_string()));
            }
        }
    }
}

struct Association;
impl AssociationHandler for Association {}
impl AssociationInformation for Association {}

fn address(a: u16) -> Result<EndpointAddress, Box<dyn Error>> {
    EndpointAddress::try_new(a).map_err(|e| format!("link address {a}: {e:?}").into())
}

/// Starts the outstation on 127.0.0.1:`port`; dropping the handle stops it.
async fn outstation(port: u16) -> Result<dnp3::tcp::ServerHandle, Box<dyn Error>> {
    let mut server = Server::new_tcp_server(LinkErrorMode::Close, SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    let config = OutstationConfig::new(address(OUTSTATION)?, address(MASTER)?, EventBufferConfig::all_types(16));
    let outstation = server.add_outstation(
        config,
        Box::new(Application),
        Box::new(Information),
        DefaultControlHandler::with_status(CommandStatus::Success),
        NullListener::create(),
        AddressFilter::Any,
    )?;
    fill(&outstation)?;
    Ok(server.bind().await?)
}

/// Defines the outstation's points and device attributes.
fn fill(outstation: &OutstationHandle) -> Result<(), Box<dyn Error>> {
    let mut defined = Ok(());
    outstation.clone().transaction(|db| {
        let now = Time::synchronized(0);
        let init = UpdateOptions::no_event();
        for i in 0..POINTS {
            db.add(i, Some(EventClass::Class1), BinaryInputConfig::default());
            db.update(i, &BinaryInput::new(i % 2 == 0, Flags::ONLINE, now), init);
            db.add(i, Some(EventClass::Class2), AnalogInputConfig::default());
            db.update(i, &AnalogInput::new(f64::from(i) * 1.5, Flags::ONLINE, now), init);
            db.add(i, Some(EventClass::Class3), CounterConfig::default());
            db.update(i, &Counter::new(u32::from(i) * 100, Flags::ONLINE, now), init);
            db.add(i, None, BinaryOutputStatusConfig::default());
            db.update(i, &BinaryOutputStatus::new(false, Flags::ONLINE, now), init);
            db.add(i, None, AnalogOutputStatusConfig::default());
            db.update(i, &AnalogOutputStatus::new(0.0, Flags::ONLINE, now), init);
        }
        for (a, text) in ATTRIBUTES {
            if let Err(e) = db.define_attr(AttrProp::default(), a.with_value(text)) {
                defined = Err(format!("attribute {a:?}: {e}"));
            }
        }
    });
    Ok(defined?)
}

/// The UDP exchange: see the module's documentation.
async fn run_udp(port: u16) -> Result<String, Box<dyn Error>> {
    let outstation_at = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let master_at = SocketAddr::from((Ipv4Addr::new(127, 0, 0, 2), port));
    let retry = Timeout::from_secs(1)?;
    let mut channel =
        spawn_master_udp(master_at, LinkReadMode::Datagram, retry, MasterChannelConfig::new(address(MASTER)?));
    let mut assoc = channel
        .add_udp_association(
            address(OUTSTATION)?,
            outstation_at,
            AssociationConfig::quiet(),
            Box::new(Reads::default()),
            Box::new(Association),
            Box::new(Association),
        )
        .await?;
    channel.enable().await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let udp = OutstationUdpConfig {
        local_endpoint: outstation_at,
        remote_endpoint: master_at,
        socket_mode: UdpSocketMode::OneToOne,
        link_read_mode: LinkReadMode::Datagram,
        retry_delay: retry,
    };
    let config = OutstationConfig::new(address(OUTSTATION)?, address(MASTER)?, EventBufferConfig::all_types(16));
    let outstation = spawn_outstation_udp(
        udp,
        config,
        Box::new(Application),
        Box::new(Information),
        DefaultControlHandler::with_status(CommandStatus::Success),
    );
    fill(&outstation)?;
    // The null unsolicited response and its confirmation.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assoc.read(ReadRequest::class_scan(Classes::all())).await?;
    let crob = Group12Var1::from_op_type(OpType::LatchOn);
    assoc.operate(CommandMode::DirectOperate, CommandBuilder::single_header_u16(crob, 1)).await?;
    let delay = assoc.warm_restart().await?;
    channel.disable().await?;
    Ok(format!(
        concat!(
            "{{\"master\":{},\"outstation\":{},\"integrity_polls\":1,",
            "\"direct_operates\":[{{\"group\":12,\"index\":1}}],\"warm_restarts\":1,\"restart_delay_ms\":{}}}"
        ),
        MASTER,
        OUTSTATION,
        delay.as_millis()
    ))
}

async fn run(port: u16) -> Result<String, Box<dyn Error>> {
    let _server = outstation(port).await?;
    let mut channel = spawn_master_tcp_client(
        LinkErrorMode::Close,
        MasterChannelConfig::new(address(MASTER)?),
        EndpointList::new(format!("127.0.0.1:{port}"), &[]),
        Default::default(),
        NullListener::create(),
    );
    let reads = Reads::default();
    // Quiet: no automatic startup requests, so the capture holds exactly
    // the requests below (and the master's own IIN-driven clear of the
    // restart bit, a write of g80v1).
    let mut assoc = channel
        .add_association(
            address(OUTSTATION)?,
            AssociationConfig::quiet(),
            Box::new(reads.clone()),
            Box::new(Association),
            Box::new(Association),
        )
        .await?;
    channel.enable().await?;

    assoc.read(ReadRequest::class_scan(Classes::all())).await?;
    assoc.read(ReadRequest::device_attribute(AllAttributes, AttrSet::Default)).await?;
    let crob = Group12Var1::from_op_type(OpType::LatchOn);
    assoc.operate(CommandMode::SelectBeforeOperate, CommandBuilder::single_header_u16(crob, 1)).await?;
    let crob = Group12Var1::from_op_type(OpType::LatchOff);
    assoc.operate(CommandMode::DirectOperate, CommandBuilder::single_header_u16(crob, 2)).await?;
    assoc.operate(CommandMode::DirectOperate, CommandBuilder::single_header_u16(Group41Var2::new(1234), 3)).await?;
    assoc.synchronize_time(TimeSyncProcedure::Lan).await?;
    let delay = assoc.cold_restart().await?;
    channel.disable().await?;
    // Let the FIN exchange reach the capture before the process exits.
    tokio::time::sleep(Duration::from_millis(100)).await;

    let attributes: Vec<String> = reads
        .attributes
        .lock()
        .map_err(|_| "poisoned")?
        .iter()
        .map(|(v, t)| format!("{{\"variation\":{v},\"value\":{}}}", json_string(t)))
        .collect();
    let headers = *reads.headers.lock().map_err(|_| "poisoned")?;
    Ok(format!(
        concat!(
            "{{\"master\":{},\"outstation\":{},\"integrity_polls\":1,\"attribute_reads\":1,",
            "\"measurement_headers\":{},\"attributes\":[{}],",
            "\"selects\":[{{\"group\":12,\"index\":1}}],",
            "\"operates\":[{{\"group\":12,\"index\":1}}],",
            "\"direct_operates\":[{{\"group\":12,\"index\":2}},{{\"group\":41,\"index\":3}}],",
            "\"time_syncs\":[\"lan\"],\"cold_restarts\":1,\"restart_delay_ms\":{}}}"
        ),
        MASTER,
        OUTSTATION,
        headers,
        attributes.join(","),
        delay.as_millis()
    ))
}

/// A JSON string literal (the texts here are ASCII, but quote them properly).
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let usage = "usage: otposture-peer-dnp3 PORT [udp]";
    let port: u16 = std::env::args().nth(1).ok_or(usage)?.parse()?;
    let exchange = match std::env::args().nth(2).as_deref() {
        None => tokio::time::timeout(Duration::from_secs(20), run(port)).await,
        Some("udp") => tokio::time::timeout(Duration::from_secs(20), run_udp(port)).await,
        Some(_) => return Err(usage.into()),
    };
    let summary = exchange.map_err(|_| "timed out")??;
    println!("{summary}");
    Ok(())
}
