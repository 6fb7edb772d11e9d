//! Syslog delivery: RFC 5424 messages with the CEF record as MSG, over UDP
//! (RFC 5426, one message per datagram), TCP (RFC 6587 section 3.4.1 octet
//! counting) or TLS (RFC 5425, the same framing).
//!
//! TCP and TLS connections stay open between alerts. Before each write the
//! socket is checked for an orderly close by the receiver (a restarted rsyslog),
//! because a write into a half-closed connection succeeds and the message is
//! lost; any error drops the connection and the next attempt reconnects.
//! UDP has no acknowledgement: a datagram sent is a delivery.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};

use crate::config::{is_print_us_ascii, split_host_port, Facility, SyslogTarget, Transport};
use crate::dispatch::{Failure, Sink};
use crate::Alert;

/// The RFC 5424 message `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG`
/// for an alert, MSG being its CEF record. TIMESTAMP is `now_ns`: when the message
/// was made (the observation time is the CEF `rt`).
pub fn rfc5424_message(
    alert: &Alert,
    facility: Facility,
    hostname: &str,
    app_name: &str,
    procid: u32,
    now_ns: i64,
) -> String {
    // Section 6.2.1: PRI = facility * 8 + severity.
    let pri = u16::from(facility.code()) * 8 + u16::from(alert.severity.syslog_code());
    // Section 6.2.7: MSGID = 1*32PRINTUSASCII, or NILVALUE "-".
    let msgid: String = alert.check.bytes().filter(|b| is_print_us_ascii(*b)).take(32).map(char::from).collect();
    let msgid = if msgid.is_empty() { "-".to_owned() } else { msgid };
    // Section 6: MSG-ANY (no BOM): CEF receivers read the text as is, and many keep a BOM as data.
    // STRUCTURED-DATA is NILVALUE: everything is in the CEF record.
    format!(
        "<{pri}>1 {} {} {} {procid} {msgid} - {}",
        crate::clock::rfc3339_utc(now_ns),
        printable_or_nil(hostname, 255),
        printable_or_nil(app_name, 48),
        crate::cef::cef_message(alert)
    )
}

/// RFC 6587 section 3.4.1 (and RFC 5425 section 4.3): `MSG-LEN SP SYSLOG-MSG`,
/// MSG-LEN the octet count in decimal.
pub fn frame_octet_counted(message: &str) -> Vec<u8> {
    let mut frame = format!("{} ", message.len()).into_bytes();
    frame.extend_from_slice(message.as_bytes());
    frame
}

/// A header field as PRINTUSASCII of at most `max` octets; NILVALUE if nothing is left.
fn printable_or_nil(field: &str, max: usize) -> String {
    let s: String = field.bytes().filter(|b| is_print_us_ascii(*b)).take(max).map(char::from).collect();
    if s.is_empty() {
        "-".to_owned()
    } else {
        s
    }
}

/// The machine's host name for HOSTNAME (Linux: the kernel's), else NILVALUE.
fn machine_hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "-".to_owned())
}

enum Conn {
    Udp(UdpSocket),
    Tcp(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

/// One syslog target and its open connection, owned by that target's thread.
pub(crate) struct SyslogSink {
    target: SyslogTarget,
    hostname: String,
    timeout: Duration,
    tls: Option<(Arc<ClientConfig>, ServerName<'static>)>,
    conn: Option<Conn>,
}

impl std::fmt::Debug for SyslogSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyslogSink")
            .field("target", &self.target.name)
            .field("connected", &self.conn.is_some())
            .finish()
    }
}

impl SyslogSink {
    pub(crate) fn new(target: &SyslogTarget) -> Result<SyslogSink, String> {
        let (host, _) = split_host_port(&target.address).map_err(|e| format!("address {:?}: {e}", target.address))?;
        let tls = match target.transport {
            Transport::Tls => {
                let config = crate::tls::client_config(target.ca_file.as_deref())?;
                let name = target.server_name.clone().unwrap_or_else(|| host.to_owned());
                let name = ServerName::try_from(name).map_err(|e| format!("server name: {e}"))?;
                Some((config, name))
            }
            Transport::Udp | Transport::Tcp => None,
        };
        Ok(SyslogSink {
            hostname: target.hostname.clone().unwrap_or_else(machine_hostname),
            timeout: Duration::from_millis(target.timeout_ms.max(1)),
            target: target.clone(),
            tls,
            conn: None,
        })
    }

    fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        let addrs: Vec<SocketAddr> = self.target.address.to_socket_addrs()?.collect();
        if addrs.is_empty() {
            return Err(io::Error::new(io::ErrorKind::NotFound, "the name has no address"));
        }
        Ok(addrs)
    }

    fn connect(&self) -> io::Result<Conn> {
        let addrs = self.resolve()?;
        if self.target.transport == Transport::Udp {
            let mut last = None;
            for addr in addrs {
                let local: SocketAddr = if addr.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
                match UdpSocket::bind(local).and_then(|s| s.connect(addr).map(|()| s)) {
                    Ok(s) => return Ok(Conn::Udp(s)),
                    Err(e) => last = Some(e),
                }
            }
            return Err(last.unwrap_or_else(|| io::Error::other("no address")));
        }
        let mut last = None;
        let mut stream = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.timeout) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let sock = match stream {
            Some(s) => s,
            None => return Err(last.unwrap_or_else(|| io::Error::other("no address"))),
        };
        sock.set_write_timeout(Some(self.timeout))?;
        sock.set_read_timeout(Some(self.timeout))?;
        sock.set_nodelay(true)?;
        match &self.tls {
            None => Ok(Conn::Tcp(sock)),
            Some((config, name)) => {
                let conn = ClientConnection::new(Arc::clone(config), name.clone()).map_err(io::Error::other)?;
                let mut tls = StreamOwned::new(conn, sock);
                // Handshake now, so a certificate problem is reported as such, not as a failed write.
                while tls.conn.is_handshaking() {
                    tls.conn.complete_io(&mut tls.sock)?;
                }
                Ok(Conn::Tls(Box::new(tls)))
            }
        }
    }

    fn write(&mut self, alert: &Alert) -> io::Result<()> {
        if self.conn.as_mut().is_some_and(|c| c.peer_closed()) {
            self.conn = None;
        }
        let message = rfc5424_message(
            alert,
            self.target.facility,
            &self.hostname,
            &self.target.app_name,
            std::process::id(),
            crate::clock::now_ns(),
        );
        let conn = match &mut self.conn {
            Some(c) => c,
            None => self.conn.insert(self.connect()?),
        };
        match conn {
            Conn::Udp(s) => s.send(message.as_bytes()).map(|_| ()),
            Conn::Tcp(s) => s.write_all(&frame_octet_counted(&message)),
            Conn::Tls(s) => s.write_all(&frame_octet_counted(&message)).and_then(|()| s.flush()),
        }
    }
}

impl Drop for SyslogSink {
    fn drop(&mut self) {
        // RFC 5425 section 4.4: close with a TLS close_notify, so the receiver sees a
        // clean end rather than a truncation. Best effort: the connection may be gone.
        if let Some(Conn::Tls(s)) = &mut self.conn {
            s.conn.send_close_notify();
            let _ = s.conn.write_tls(&mut s.sock);
        }
    }
}

impl Sink for SyslogSink {
    fn deliver(&mut self, alert: &Alert) -> Result<(), Failure> {
        self.write(alert).map_err(|e| {
            self.conn = None;
            Failure::retry(format!("syslog {} {}: {e}", transport_name(self.target.transport), self.target.address))
        })
    }
}

fn transport_name(t: Transport) -> &'static str {
    match t {
        Transport::Udp => "udp",
        Transport::Tcp => "tcp",
        Transport::Tls => "tls",
    }
}

impl Conn {
    /// Whether the receiver has closed the connection (or it has failed). A
    /// receiver never sends syslog data back, so readable bytes on plain TCP
    /// mean nothing, and on TLS are handshake messages (TLS 1.3 tickets) or an alert.
    fn peer_closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        match self {
            Conn::Udp(_) => false,
            Conn::Tcp(s) => {
                if s.set_nonblocking(true).is_err() {
                    return true;
                }
                let closed = match s.peek(&mut byte) {
                    Ok(0) => true,
                    Ok(_) => false,
                    Err(e) => e.kind() != io::ErrorKind::WouldBlock,
                };
                s.set_nonblocking(false).is_err() || closed
            }
            Conn::Tls(s) => {
                if s.sock.set_nonblocking(true).is_err() {
                    return true;
                }
                let closed = loop {
                    match s.conn.read_tls(&mut s.sock) {
                        Ok(0) => break true,
                        Ok(_) => {
                            if s.conn.process_new_packets().is_err() {
                                break true;
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            // Ok(0) from the plaintext side is close_notify.
                            let mut sink = [0u8; 256];
                            break match s.conn.reader().read(&mut sink) {
                                Ok(0) => true,
                                Ok(_) => false,
                                Err(e) => e.kind() != io::ErrorKind::WouldBlock,
                            };
                        }
                        Err(_) => break true,
                    }
                };
                s.sock.set_nonblocking(false).is_err() || closed
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::Severity;

    fn alert(severity: Severity, check: &str) -> Alert {
        Alert {
            id: "f1:opened:1".into(),
            finding_id: "f1".into(),
            event: "opened".into(),
            check: check.into(),
            title: "t".into(),
            severity,
            time_ns: 0,
            site: None,
            assets: vec![],
            source: None,
            destination: None,
            protocol: None,
            attack: vec![],
            remediation: None,
            detail: serde_json::Value::Null,
        }
    }

    #[test]
    fn pri_is_facility_times_eight_plus_severity() {
        // local4 = 20: 20*8 = 160; crit 2, err 3, warning 4, notice 5.
        for (sev, pri) in
            [(Severity::Critical, 162), (Severity::High, 163), (Severity::Medium, 164), (Severity::Low, 165)]
        {
            let m = rfc5424_message(&alert(sev, "c"), Facility::Local4, "h", "otposture", 1, 0);
            assert!(m.starts_with(&format!("<{pri}>1 ")), "{m}");
        }
        let m = rfc5424_message(&alert(Severity::Critical, "c"), Facility::Kern, "h", "a", 1, 0);
        assert!(m.starts_with("<2>1 "), "{m}");
        let m = rfc5424_message(&alert(Severity::Low, "c"), Facility::Local7, "h", "a", 1, 0);
        assert!(m.starts_with("<189>1 "), "{m}");
    }

    #[test]
    fn header_fields_are_in_rfc5424_order() {
        let m = rfc5424_message(
            &alert(Severity::High, "segmentation.unallowed_flow"),
            Facility::Local4,
            "sensor-1",
            "otposture",
            4242,
            1_700_000_000_123_456_789,
        );
        let expected_head =
            "<163>1 2023-11-14T22:13:20.123456Z sensor-1 otposture 4242 segmentation.unallowed_flow - CEF:0|";
        assert!(m.starts_with(expected_head), "{m}");
    }

    #[test]
    fn msgid_is_printable_and_at_most_32_octets() {
        let m = rfc5424_message(
            &alert(Severity::Low, "a very long check id\twith spaces.and.more.parts.x"),
            Facility::Local4,
            "h",
            "a",
            1,
            0,
        );
        let msgid = m.split(' ').nth(5).unwrap();
        assert_eq!(msgid, "averylongcheckidwithspaces.and.m");
        assert_eq!(msgid.len(), 32);
        let m = rfc5424_message(&alert(Severity::Low, " \n"), Facility::Local4, "", "a", 1, 0);
        assert_eq!(m.split(' ').nth(5).unwrap(), "-");
        assert_eq!(m.split(' ').nth(2).unwrap(), "-", "empty hostname is NILVALUE");
    }

    #[test]
    fn octet_counting_prefixes_the_byte_length() {
        assert_eq!(frame_octet_counted("<165>1 x"), b"8 <165>1 x");
        // Length in octets, not characters: "é" is two octets.
        assert_eq!(frame_octet_counted("é"), "2 é".as_bytes());
    }
}
