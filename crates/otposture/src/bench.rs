//! `otposture bench`: throughput and memory of the packet path, measured on real
//! files, single-threaded, without the store. Long runs belong here, not in tests.

use crate::analyze::{engine_config, raw, CHECKPOINT_PACKETS, CHECKPOINT_PENDING};
use clap::Args;
use otposture_capture::{FileSource, MergedSource, PacketSource};
use otposture_dissect::Registry;
use otposture_observe::Engine;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Read records only (file I/O and pcap/pcapng framing).
    Read,
    /// Read, decode, hosts, flows, TCP reassembly and the built-in dissectors.
    Flows,
}

#[derive(Args, Debug)]
pub(crate) struct BenchArgs {
    /// Capture files (merged in timestamp order, as `analyze` does).
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
}

/// Peak resident memory of this process (VmHWM), in bytes, where Linux tells it.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

pub(crate) fn run(a: BenchArgs) -> anyhow::Result<u8> {
    let mut best: Option<(f64, u64, u64, u64, u64, u64)> = None;
    for pass in 0..a.passes.max(1) {
        let files =
            a.captures.iter().enumerate().map(|(i, p)| FileSource::open(p, i)).collect::<Result<Vec<_>, _>>()?;
        let mut src = MergedSource::new(files);
        let mut engine = Engine::new(engine_config(a.flow_memory, 600, 120), Registry::with_defaults());
        let (mut packets, mut bytes) = (0u64, 0u64);
        let mut out = Vec::new();
        let t0 = Instant::now();
        while let Some(p) = src.next_packet()? {
            packets += 1;
            bytes += p.data.len() as u64 + 16;
            if a.stage == Stage::Flows {
                engine.packet(&raw(&p));
                // Checkpoint as `analyze` does, so ended-flow records do not pile up.
                if packets % CHECKPOINT_PACKETS == 0 || engine.pending() >= CHECKPOINT_PENDING {
                    out.clear();
                    engine.checkpoint(&mut out);
                }
            }
        }
        let (mut flows, mut peak_flows, mut evictions) = (0, 0, 0);
        if a.stage == Stage::Flows {
            engine.finish(&mut out);
            let s = engine.stats();
            flows = s.flows;
            peak_flows = s.flow_table.peak_flows;
            evictions = s.flow_table.cap_evictions;
        }
        let secs = t0.elapsed().as_secs_f64();
        let file_bytes = src.progress().bytes_read;
        if !a.json {
            eprintln!("pass {}: {:.3} s, {:.0} MB/s", pass + 1, secs, file_bytes as f64 / 1e6 / secs);
        }
        if best.is_none_or(|b| secs < b.0) {
            best = Some((secs, packets, file_bytes.max(bytes), flows, peak_flows, evictions));
        }
    }
    let (secs, packets, bytes, flows, peak_flows, evictions) = best.unwrap_or_default();
    let peak = peak_rss();
    let result = serde_json::json!({
        "stage": format!("{:?}", a.stage).to_lowercase(),
        "inputs": a.captures,
        "bytes": bytes,
        "packets": packets,
        "seconds": secs,
        "megabytes_per_second": bytes as f64 / 1e6 / secs,
        "packets_per_second": packets as f64 / secs,
        "flows": flows,
        "peak_flows": peak_flows,
        "flow_cap_evictions": evictions,
        "peak_rss_bytes": peak,
    });
    if a.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        println!(
            "{} stage: {} packets, {:.1} MB in {:.3} s = {:.0} MB/s, {:.2} Mpackets/s; {} flows (peak {} open, {} evicted by the cap); peak RSS {}",
            format!("{:?}", a.stage).to_lowercase(),
            packets,
            bytes as f64 / 1e6,
            secs,
            bytes as f64 / 1e6 / secs,
            packets as f64 / 1e6 / secs,
            flows,
            peak_flows,
            evictions,
            peak.map_or_else(|| "unknown".to_string(), |p| format!("{:.1} MiB", p as f64 / 1048576.0)),
        );
    }
    Ok(crate::exit::OK)
}
