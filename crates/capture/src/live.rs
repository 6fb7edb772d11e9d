//! Live capture from a network interface through libpcap.
//!
//! Receive only: the handle is opened for capture and never used to send.
//! A BPF filter is compiled by libpcap; the read timeout lets the caller stop
//! cleanly (Ctrl-C, duration, packet limit) even on a silent network.

use crate::{CaptureError, Packet, PacketSource, Polled, Progress, Warning};
use otposture_model::Timestamp;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How to open an interface.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    /// Interface name (`eth0`).
    pub iface: String,
    /// BPF filter expression, as for tcpdump.
    pub filter: Option<String>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Stop after this many packets.
    pub max_packets: Option<u64>,
    /// Snap length.
    pub snaplen: i32,
    /// Promiscuous mode (receive frames addressed to other hosts; still receive only).
    pub promiscuous: bool,
    /// Set to stop the capture from another thread (Ctrl-C handler).
    pub stop: Arc<AtomicBool>,
}

/// An open live capture.
pub struct LiveSource {
    cap: pcap::Capture<pcap::Active>,
    iface: String,
    linktype: u32,
    started: Instant,
    duration: Option<Duration>,
    max_packets: Option<u64>,
    packets: u64,
    bytes: u64,
    stop: Arc<AtomicBool>,
    /// The last packet, copied out of libpcap's ring so the read loop can retry
    /// on timeouts; live rates make the copy negligible.
    last: Vec<u8>,
    last_ts: Timestamp,
    last_len: u32,
}

impl std::fmt::Debug for LiveSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSource").field("iface", &self.iface).field("packets", &self.packets).finish()
    }
}

impl LiveSource {
    /// Opens the interface and applies the filter.
    pub fn open(opts: &LiveOptions) -> Result<Self, CaptureError> {
        let live = |what: String| CaptureError::Live { iface: opts.iface.clone(), what };
        let cap = pcap::Capture::from_device(opts.iface.as_str())
            .map_err(|e| live(e.to_string()))?
            .promisc(opts.promiscuous)
            .snaplen(opts.snaplen)
            .immediate_mode(true)
            .open()
            .map_err(|e| live(format!("cannot open (are you root or do you have CAP_NET_RAW?): {e}")))?;
        // Non-blocking: in immediate mode libpcap ignores the read timeout and a
        // silent network would block forever, past Ctrl-C and --duration.
        let mut cap = cap.setnonblock().map_err(|e| live(format!("cannot switch to non-blocking reads: {e}")))?;
        if let Some(f) = &opts.filter {
            cap.filter(f, true).map_err(|e| live(format!("invalid capture filter {f:?}: {e}")))?;
        }
        let linktype = cap.get_datalink().0 as u32;
        if !crate::linktype_supported(linktype) {
            return Err(live(format!("link type {linktype} is not supported")));
        }
        Ok(LiveSource {
            cap,
            iface: opts.iface.clone(),
            linktype,
            started: Instant::now(),
            duration: opts.duration,
            max_packets: opts.max_packets,
            packets: 0,
            bytes: 0,
            stop: opts.stop.clone(),
            last: Vec::with_capacity(65_536),
            last_ts: Timestamp::default(),
            last_len: 0,
        })
    }

    /// The packet read last.
    fn packet(&self) -> Packet<'_> {
        Packet {
            ts: self.last_ts,
            data: &self.last,
            orig_len: self.last_len,
            linktype: self.linktype,
            interface: 0,
            source: 0,
            record: self.packets,
            offset: 0,
            comment: None,
        }
    }

    /// Packets received and dropped, as libpcap counts them.
    pub fn stats(&mut self) -> Option<(u32, u32)> {
        self.cap.stats().ok().map(|s| (s.received, s.dropped + s.if_dropped))
    }

    /// The link type of the interface.
    pub fn linktype(&self) -> u32 {
        self.linktype
    }
}

impl PacketSource for LiveSource {
    fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        loop {
            // Two steps: the borrow of a packet returned from the loop would
            // outlive the iteration that polled again.
            match self.poll_packet(Duration::from_secs(1))? {
                Polled::Idle => continue,
                Polled::End => return Ok(None),
                Polled::Packet(_) => break,
            }
        }
        Ok(Some(self.packet()))
    }

    fn poll_packet(&mut self, wait: Duration) -> Result<Polled<'_>, CaptureError> {
        let deadline = Instant::now().checked_add(wait);
        let (ts, orig_len) = loop {
            if self.stop.load(Ordering::Relaxed)
                || self.duration.is_some_and(|d| self.started.elapsed() >= d)
                || self.max_packets.is_some_and(|m| self.packets >= m)
            {
                return Ok(Polled::End);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(Polled::Idle);
            }
            match self.cap.next_packet() {
                Ok(p) => {
                    self.packets += 1;
                    self.bytes += u64::from(p.header.caplen);
                    self.last.clear();
                    self.last.extend_from_slice(p.data);
                    let ts =
                        Timestamp::from_parts(p.header.ts.tv_sec, (p.header.ts.tv_usec as u32).saturating_mul(1_000));
                    break (ts, p.header.len);
                }
                // Nothing queued: wait a little. Packets keep arriving in the
                // kernel's ring meanwhile, so none is lost to the pause.
                Err(pcap::Error::TimeoutExpired) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => return Err(CaptureError::Live { iface: self.iface.clone(), what: e.to_string() }),
            }
        };
        self.last_ts = ts;
        self.last_len = orig_len;
        Ok(Polled::Packet(self.packet()))
    }

    fn progress(&self) -> Progress {
        Progress { bytes_read: self.bytes, total_bytes: None, packets: self.packets }
    }

    fn take_warnings(&mut self) -> Vec<Warning> {
        Vec::new()
    }
}
