//! `otposture bench`: throughput and memory of the packet path, measured on real
//! files. `read` and `flows` run on one thread without the store; `store` is
//! `analyze` end to end (the store written on its writer thread) into a fresh
//! temporary database per pass. Long runs belong here, not in tests.

use crate::analyze::{engine_config, raw, CHECKPOINT_PACKETS};
use crate::writer::Writer;
use anyhow::Context;
use clap::Args;
use otposture_capture::{FileSource, MergedSource, PacketSource};
use otposture_dissect::Registry;
use otposture_model::{EventKind, FlowEnd, Observation};
use otposture_observe::Engine;
use otposture_store::{CaptureId, Store};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Read records only (file I/O and pcap/pcapng framing).
    Read,
    /// Read, decode, hosts, flows, TCP reassembly and the built-in dissectors.
    Flows,
    /// All of `flows`, and every checkpoint written to a new SQLite store.
    Store,
}

#[derive(Args, Debug)]
pub(crate) struct BenchArgs {
    /// Capture files or directories of them (merged in timestamp order, as `analyze` does).
    #[arg(required = true, value_name = "CAPTURE")]
    captures: Vec<PathBuf>,
    /// Which stage to measure.
    #[arg(long, value_enum, default_value_t = Stage::Flows)]
    stage: Stage,
    /// Passes over the input; the best is reported (the first warms the page cache).
    #[arg(long, default_value_t = 3)]
    passes: u32,
    /// Memory the flow table may use, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 512)]
    flow_memory: usize,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Leave these dissectors out (protocol names, comma-separated, as
    /// `analyze` counts them: `enip`, `modbus`, `s7comm`, ...; `all` for every
    /// one): what is left measures the engine without them.
    #[arg(long, value_name = "PROTOCOLS", value_delimiter = ',')]
    without: Vec<String>,
}

/// The built-in dissectors less those named (`all`: every one); a name no
/// dissector has is refused, so a typo cannot pass for a measurement.
fn registry_without(without: &[String]) -> anyhow::Result<Registry> {
    let mut r = Registry::with_defaults();
    let mut known: Vec<&'static str> = r.streams.iter().map(|d| d.protocol()).collect();
    known.extend(r.datagrams.iter().map(|d| d.protocol()));
    known.extend(r.frames.iter().map(|d| d.protocol()));
    if let Some(bad) = without.iter().find(|w| *w != "all" && !known.contains(&w.as_str())) {
        known.sort_unstable();
        known.dedup();
        anyhow::bail!("--without: no dissector is named {bad:?} (known: all, {})", known.join(", "));
    }
    let keep = |p: &str| !without.iter().any(|w| w == "all" || w == p);
    r.streams.retain(|d| keep(d.protocol()));
    r.datagrams.retain(|d| keep(d.protocol()));
    r.frames.retain(|d| keep(d.protocol()));
    Ok(r)
}

/// What one pass measured.
#[derive(Default)]
struct Pass {
    secs: f64,
    packets: u64,
    bytes: u64,
    flows: u64,
    peak_flows: u64,
    evictions: u64,
    cpu: Option<f64>,
    /// Of which the packet path's thread (the rest is the store's writer).
    main_cpu: Option<f64>,
    /// Messages the dissectors counted, and the protocols they were counted under.
    messages: u64,
    protocols: Vec<String>,
    handed: Handed,
    /// The most input files the merge held open at once.
    files_open: usize,
}

/// Records the engine handed to the store, by kind: the writer's cost follows
/// these counts (a flow row costs about three message counts), so a change
/// that writes fewer of them shows here before it shows in time.
#[derive(Default, Clone, serde::Serialize)]
struct Handed {
    flows: u64,
    /// Records of flows still open at a checkpoint (rewritten when they end).
    open_flows: u64,
    hosts: u64,
    message_counts: u64,
    message_counts_outside_flows: u64,
    /// Operations of a flow tied to a packet: handed over in runs, a row each.
    kept_operations: u64,
    operation_runs: u64,
    other_events: u64,
}

impl Handed {
    fn tally(&mut self, out: &[Observation]) {
        for o in out {
            match o {
                Observation::Host(_) => self.hosts += 1,
                Observation::Flow(f) => {
                    self.flows += 1;
                    self.open_flows += u64::from(f.end == FlowEnd::Open);
                }
                Observation::Message(m) => {
                    self.message_counts += 1;
                    self.message_counts_outside_flows += u64::from(m.flow.is_none());
                }
                Observation::Operations(run) => {
                    self.kept_operations += run.len() as u64;
                    self.operation_runs += 1;
                }
                Observation::Event(e) if e.kind == EventKind::Operation && e.flow.is_some() && e.packet != 0 => {
                    self.kept_operations += 1;
                }
                Observation::Event(_) => self.other_events += 1,
            }
        }
    }
}

/// CPU time (user and system, all threads) this process has used, in seconds,
/// where Linux tells it (`/proc/self/stat`, in clock ticks of 1/100 s).
fn cpu_seconds() -> Option<f64> {
    cpu_seconds_of("/proc/self/stat")
}

/// CPU time of the calling thread (the packet path; the store's writer has
/// its own): the process's less this is the writer's.
fn thread_cpu_seconds() -> Option<f64> {
    cpu_seconds_of("/proc/thread-self/stat")
}

fn cpu_seconds_of(path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    Some((ticks(11)? + ticks(12)?) as f64 / 100.0)
}

/// Peak resident memory of this process (VmHWM), in bytes, where Linux tells it.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Prints an input's error on the first pass (each pass meets it again);
/// true when it did.
fn report(pass: u32, e: &otposture_capture::CaptureError) -> bool {
    if pass == 0 {
        eprintln!("error: {e} (the other inputs are read on)");
    }
    pass == 0
}

pub(crate) fn run(a: BenchArgs) -> anyhow::Result<u8> {
    let captures = crate::analyze::capture_files(&a.captures, false).map_err(anyhow::Error::msg)?;
    let mut best: Option<Pass> = None;
    // As `analyze`: an input that fails stops its own read, not the others'.
    let mut failed = 0usize;
    let scratch = tempfile::tempdir().context("creating a directory for the benchmark database")?;
    for pass in 0..a.passes.max(1) {
        // Added one at a time: the merge closes each file until it is reached.
        let mut src = MergedSource::new(Vec::new());
        for (i, p) in captures.iter().enumerate() {
            match FileSource::open(p, i) {
                Ok(f) => src.add(f),
                Err(e) => failed += usize::from(report(pass, &e)),
            }
        }
        let mut engine = Engine::new(engine_config(a.flow_memory, 600, 120), registry_without(&a.without)?);
        let dissect = a.stage != Stage::Read;
        // One capture row for all inputs: the store's cost, not its bookkeeping, is measured.
        let mut writer = match a.stage {
            Stage::Store => {
                let db = scratch.path().join(format!("pass-{pass}.db"));
                let mut store = Store::open(&db)?;
                let capture = store.begin_capture(&format!("bench-{pass}"), &db, 0, 0)?;
                // Every input's source index past the list takes its last entry.
                let captures: Arc<[CaptureId]> = Arc::from([capture]);
                Some((Writer::spawn(store)?, captures))
            }
            _ => None,
        };
        let (mut packets, mut bytes) = (0u64, 0u64);
        let mut out = Vec::new();
        let mut handed = Handed::default();
        let cpu0 = cpu_seconds();
        let main0 = thread_cpu_seconds();
        let t0 = Instant::now();
        loop {
            let p = match src.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(e) => {
                    failed += usize::from(report(pass, &e));
                    continue;
                }
            };
            packets += 1;
            bytes += p.data.len() as u64 + 16;
            if dissect {
                engine.packet(&raw(&p));
                // Checkpoint as `analyze` does, so ended-flow records do not pile up.
                if packets % CHECKPOINT_PACKETS == 0 || engine.needs_checkpoint() {
                    out.clear();
                    engine.checkpoint(&mut out);
                    handed.tally(&out);
                    if let Some((w, captures)) = writer.as_mut() {
                        w.write(captures, std::mem::take(&mut out))?;
                    }
                }
            }
        }
        let (mut flows, mut peak_flows, mut evictions) = (0, 0, 0);
        let (mut messages, mut protocols) = (0, Vec::new());
        if dissect {
            out.clear();
            engine.finish(&mut out);
            handed.tally(&out);
            if let Some((mut w, captures)) = writer.take() {
                w.write(&captures, std::mem::take(&mut out))?;
                drop(w.finish()?);
            }
            let s = engine.stats();
            flows = s.flows;
            peak_flows = s.flow_table.peak_flows;
            evictions = s.flow_table.cap_evictions;
            messages = s.messages.iter().map(|(_, _, n)| n).sum();
            // Sorted by protocol, then class: dedup leaves each name once.
            protocols = s.messages.into_iter().map(|(p, _, _)| p).collect();
            protocols.dedup();
        }
        let secs = t0.elapsed().as_secs_f64();
        let cpu = cpu_seconds().zip(cpu0).map(|(b, a)| b - a);
        let main_cpu = thread_cpu_seconds().zip(main0).map(|(b, a)| b - a);
        let file_bytes = src.progress().bytes_read;
        if !a.json {
            eprintln!("pass {}: {:.3} s, {:.0} MB/s", pass + 1, secs, file_bytes as f64 / 1e6 / secs);
        }
        if best.as_ref().is_none_or(|b| secs < b.secs) {
            let bytes = file_bytes.max(bytes);
            best = Some(Pass {
                secs,
                packets,
                bytes,
                flows,
                peak_flows,
                evictions,
                cpu,
                main_cpu,
                messages,
                protocols,
                handed,
                files_open: src.peak_open(),
            });
        }
    }
    let best = best.unwrap_or_default();
    let Pass { secs, packets, bytes, cpu, main_cpu, .. } = best;
    let peak = peak_rss();
    let result = serde_json::json!({
        "stage": format!("{:?}", a.stage).to_lowercase(),
        "inputs": a.captures,
        "bytes": bytes,
        "packets": packets,
        "seconds": secs,
        "cpu_seconds": cpu,
        "main_thread_cpu_seconds": main_cpu,
        "megabytes_per_second": bytes as f64 / 1e6 / secs,
        "packets_per_second": packets as f64 / secs,
        "flows": best.flows,
        "peak_flows": best.peak_flows,
        "flow_cap_evictions": best.evictions,
        "peak_rss_bytes": peak,
        "messages": best.messages,
        "protocols": best.protocols,
        "records": best.handed,
        "files_open_at_once": best.files_open,
    });
    if a.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        println!(
            "{} stage: {} packets, {:.1} MB in {:.3} s ({}) = {:.0} MB/s, {:.2} Mpackets/s; {} flows (peak {} open, {} evicted by the cap); peak RSS {}",
            format!("{:?}", a.stage).to_lowercase(),
            packets,
            bytes as f64 / 1e6,
            secs,
            match (cpu, main_cpu) {
                (Some(c), Some(m)) if a.stage == Stage::Store => {
                    format!("{c:.2} s CPU: packet path {m:.2} s, store writer {:.2} s", c - m)
                }
                (Some(c), _) => format!("{c:.2} s CPU"),
                (None, _) => "CPU unknown".to_string(),
            },
            bytes as f64 / 1e6 / secs,
            packets as f64 / 1e6 / secs,
            best.flows,
            best.peak_flows,
            best.evictions,
            peak.map_or_else(|| "unknown".to_string(), |p| format!("{:.1} MiB", p as f64 / 1048576.0)),
        );
        let h = &best.handed;
        println!(
            "records for the store: {} flows ({} open), {} host sightings, {} message counts ({} outside flows), {} kept operations (in {} runs), {} other events",
            h.flows, h.open_flows, h.hosts, h.message_counts, h.message_counts_outside_flows, h.kept_operations, h.operation_runs, h.other_events
        );
        if captures.len() > 1 {
            println!("{} files merged, at most {} open at once", captures.len(), best.files_open);
        }
    }
    if failed > 0 {
        eprintln!("error: {failed} of {} inputs failed; the figures are for what was read", captures.len());
        return Ok(crate::exit::BAD_INPUT);
    }
    Ok(crate::exit::OK)
}
