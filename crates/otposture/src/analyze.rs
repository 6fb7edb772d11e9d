//! `otposture analyze`: captures (or an interface) -> engine -> store, with
//! progress on a terminal and a summary at the end.

use crate::exit;
use crate::writer::Writer;
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use otposture_capture::{CaptureError, FileSource, MergedSource, PacketSource, Polled};
use otposture_dissect::Registry;
use otposture_model::Observation;
use otposture_model::ToCompactString;
use otposture_observe::{Engine, EngineConfig, EngineStats, RawPacket};
use otposture_store::{CaptureId, CaptureStats, RunStatus, Store};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Packets between two store checkpoints: bounds the memory of a batch and what
/// an interrupted run can lose.
pub(crate) const CHECKPOINT_PACKETS: u64 = 1 << 18;

/// Wall-clock time between two store checkpoints at most, while packets come
/// (checked every [`CHECKPOINT_CHECK_EVERY`] packets) or while a live interface
/// is quiet: without it a live capture of a few hundred packets a second was
/// stored only every 262,144 packets, a quarter of an hour apart.
pub(crate) const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// Packets between two looks at the clock for [`CHECKPOINT_INTERVAL`]: a read
/// of the clock costs tens of nanoseconds, a tenth of a second per 1 GB
/// capture if done for every packet.
const CHECKPOINT_CHECK_EVERY: u64 = 64;

#[derive(Args, Debug)]
pub(crate) struct AnalyzeArgs {
    /// Capture files (pcap, pcapng, optionally gzip-compressed; a pipe, or `-` for standard input), or directories of them; several are merged in timestamp order.
    #[arg(value_name = "CAPTURE", required_unless_present = "iface", conflicts_with = "iface")]
    captures: Vec<PathBuf>,
    /// Capture live from this interface instead (receive only; needs CAP_NET_RAW).
    #[arg(long, value_name = "IF")]
    iface: Option<String>,
    /// BPF capture filter for --iface, as for tcpdump (e.g. "tcp port 502").
    #[arg(long, value_name = "BPF", requires = "iface")]
    filter: Option<String>,
    /// Stop a live capture after this many seconds.
    #[arg(long, value_name = "S", requires = "iface")]
    duration: Option<u64>,
    /// Stop a live capture after this many packets.
    #[arg(long, value_name = "N", requires = "iface")]
    count: Option<u64>,
    /// The network these captures come from (a plant or site with its own addressing): addresses seen here stay apart from the same addresses in other networks of the database. Letters, digits, '-', '_', '.'; default: the one unnamed network.
    #[arg(long, value_name = "NAME", value_parser = parse_network)]
    network: Option<String>,
    /// Treat capture warnings (captured length beyond snap length, bad timestamps) as failure (exit 4).
    #[arg(long)]
    strict: bool,
    /// Memory the flow table may use, in MiB; beyond it the least recently seen flows are evicted (counted).
    #[arg(long, value_name = "MIB", default_value_t = 512)]
    flow_memory: usize,
    /// Idle timeout of TCP flows, seconds.
    #[arg(long, value_name = "S", default_value_t = 600)]
    tcp_idle: i64,
    /// Idle timeout of UDP and other flows, seconds.
    #[arg(long, value_name = "S", default_value_t = 120)]
    udp_idle: i64,
    /// Summary format printed at the end.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    summary: SummaryFormat,
    /// No progress bar, even on a terminal.
    #[arg(long)]
    quiet: bool,
}

/// A `--network` name, checked (exit 2 with the reason otherwise).
pub(crate) fn parse_network(s: &str) -> Result<String, String> {
    otposture_model::check_network_name(s).map(|()| s.to_string())
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum SummaryFormat {
    Text,
    Json,
}

pub(crate) fn engine_config(flow_memory_mib: usize, tcp_idle: i64, udp_idle: i64) -> EngineConfig {
    let mut c = EngineConfig::default();
    c.flows.max_memory = flow_memory_mib << 20;
    c.flows.tcp_idle_ns = tcp_idle.saturating_mul(1_000_000_000);
    c.flows.udp_idle_ns = udp_idle.saturating_mul(1_000_000_000);
    c
}

/// A quick identity for a capture file: its size and hashes of its first and
/// last 64 KiB. Re-analysing the same file finds its row again. A pipe (or
/// standard input) cannot be read twice: it is named by its path and the time
/// it was opened, so each run over it is a capture of its own.
pub(crate) fn fingerprint(path: &Path) -> std::io::Result<(String, u64)> {
    use std::io::{Read, Seek, SeekFrom};
    if !std::fs::metadata(path)?.is_file() {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        return Ok((format!("stream:{}:{}", path.display(), now.as_nanos()), 0));
    }
    let mut f = std::fs::File::open(path)?;
    let size = f.metadata()?.len();
    let mut head = vec![0u8; 65_536.min(size as usize)];
    f.read_exact(&mut head)?;
    let tail_len = 65_536.min(size) as usize;
    let mut tail = vec![0u8; tail_len];
    f.seek(SeekFrom::Start(size - tail_len as u64))?;
    f.read_exact(&mut tail)?;
    let h = xxhash_rust::xxh3::xxh3_128(&[head, tail].concat());
    Ok((format!("{size:x}-{h:032x}"), size))
}

/// The engine's view of a captured packet.
pub(crate) fn raw<'a>(p: &otposture_capture::Packet<'a>) -> RawPacket<'a> {
    // The bytes' address and length are read one by one (the length through
    // `black_box`, so the compiler cannot see the slice is the same): copied
    // whole, the slice was read with one wide load right behind the two
    // narrow stores that had just written it, and the processor waited for
    // them (perf: two thirds of this loop's time, 2% of the packet path's).
    let len = std::hint::black_box(p.data.len());
    RawPacket {
        ts: p.ts,
        linktype: p.linktype,
        data: p.data.get(..len).unwrap_or_default(),
        orig_len: p.orig_len,
        record: p.record,
        source: u32::try_from(p.source).unwrap_or(u32::MAX),
    }
}

/// The inputs with each directory replaced by the capture files in it (sorted
/// by name; other files and subdirectories are passed over and counted). A
/// directory without one is an error naming it.
pub(crate) fn capture_files(inputs: &[PathBuf], quiet: bool) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in inputs {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let found = otposture_capture::captures_in(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if found.captures.is_empty() {
            return Err(format!(
                "{}: no pcap or pcapng files in this directory ({} other entries; subdirectories are not read)",
                path.display(),
                found.skipped
            ));
        }
        if !quiet {
            eprintln!(
                "{}: {} capture files, in name order{}",
                path.display(),
                found.captures.len(),
                match found.skipped {
                    0 => String::new(),
                    n => format!(" ({n} other entries passed over)"),
                }
            );
        }
        files.extend(found.captures);
    }
    Ok(files)
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

pub(crate) fn run(args: AnalyzeArgs, db: Option<PathBuf>) -> anyhow::Result<u8> {
    let db = crate::require_db(db)?;
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // A second Ctrl-C falls through to the default (immediate exit); the
        // database stays consistent either way (every batch is one transaction).
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                std::process::exit(i32::from(exit::INTERRUPTED));
            }
        });
    }
    let captures = match capture_files(&args.captures, args.quiet) {
        Ok(c) => c,
        Err(message) => {
            eprintln!("error: {message}");
            return Ok(exit::BAD_INPUT);
        }
    };
    let mut store = Store::open(&db).with_context(|| format!("opening database {}", db.display()))?;
    let network = args.network.as_deref();
    // A capture keeps the network it was first analysed in: refuse before any
    // capture row is touched. (A file that cannot be read is reported below.)
    for path in &captures {
        if let Ok((fp, _)) = fingerprint(path) {
            if let Err(e) = store.check_capture_network(network, &fp) {
                eprintln!("error: {}: {e}", path.display());
                return Ok(exit::USAGE);
            }
        }
    }
    let started = now_secs();
    let run_id = store.begin_run(started)?;
    let config = engine_config(args.flow_memory, args.tcp_idle, args.udp_idle);
    let mut engine = Engine::new(config, Registry::with_defaults());

    let mut source: Box<dyn PacketSource>;
    let mut capture_ids: Vec<CaptureId> = Vec::new();
    let mut inputs: Vec<String> = Vec::new();
    // Every input that failed, in the order met: one broken file among many
    // stops only its own read (exit 3 at the end), not the others'.
    let mut failures: Vec<CaptureError> = Vec::new();
    let mut unopened = 0usize;
    if let Some(iface) = &args.iface {
        #[cfg(feature = "live")]
        {
            let opts = otposture_capture::LiveOptions {
                iface: iface.clone(),
                filter: args.filter.clone(),
                duration: args.duration.map(Duration::from_secs),
                max_packets: args.count,
                snaplen: 262_144,
                promiscuous: true,
                stop: stop.clone(),
            };
            let live = otposture_capture::LiveSource::open(&opts)?;
            let fp = format!("live:{iface}:{started}");
            let id = store.begin_capture_in(network, &fp, Path::new(&format!("iface:{iface}")), 0, started)?;
            store.add_run_capture(run_id, id)?;
            capture_ids.push(id);
            inputs.push(format!("interface {iface}"));
            source = Box::new(live);
        }
        #[cfg(not(feature = "live"))]
        {
            let _ = iface;
            anyhow::bail!("this build has no live capture (built without the `live` feature)");
        }
    } else {
        // Added as they are opened: the merge closes each file after the
        // first until it is reached, so a directory of rotated captures never
        // holds them all open.
        let mut merged = MergedSource::new(Vec::new());
        // A capture given twice (a path repeated, a directory and a file in
        // it, a copy under another name) is read once: read twice, every
        // packet would be counted twice and seen as retransmitted.
        let mut read: std::collections::HashMap<String, PathBuf> = std::collections::HashMap::new();
        for path in &captures {
            // `-` is standard input, e.g. `tcpdump -w - | otposture analyze -`.
            let path = if path.as_os_str() == "-" { Path::new("/dev/stdin") } else { path.as_path() };
            // Packets carry this index as their source: the capture's place in `capture_ids`.
            let file = match FileSource::open(path, capture_ids.len()) {
                Ok(f) => f,
                Err(e) => {
                    failures.push(e);
                    unopened += 1;
                    continue;
                }
            };
            let (fp, size) = fingerprint(path).with_context(|| format!("reading {}", path.display()))?;
            if let Some(first) = read.get(&fp) {
                eprintln!(
                    "warning: {}: the same capture as {} (same size, first and last 64 KiB): read once",
                    path.display(),
                    first.display()
                );
                continue;
            }
            read.insert(fp.clone(), path.to_path_buf());
            let id = store.begin_capture_in(network, &fp, path, size, started)?;
            store.add_run_capture(run_id, id)?;
            capture_ids.push(id);
            inputs.push(path.display().to_string());
            merged.add(file);
        }
        if capture_ids.is_empty() && !failures.is_empty() {
            // Nothing could be opened: nothing to analyse or summarise.
            for e in &failures {
                eprintln!("error: {e}");
            }
            let errors: Vec<String> = failures.iter().map(ToString::to_string).collect();
            store.finish_run(
                run_id,
                RunStatus::Failed,
                now_secs(),
                &serde_json::json!({ "error": errors.first(), "errors": errors }),
            )?;
            return Ok(exit::BAD_INPUT);
        }
        source = Box::new(merged);
    }

    // Each observation names its input by index; the writer maps it to its capture.
    let captures: Arc<[CaptureId]> = Arc::from(capture_ids.as_slice());
    let mut writer = Writer::spawn(store)?;
    let bar = progress_bar(args.quiet, source.progress().total_bytes);
    let t0 = Instant::now();
    let mut per_capture: Vec<CaptureStats> = vec![CaptureStats::default(); capture_ids.len()];
    let mut link_types_seen: Vec<Vec<u32>> = vec![Vec::new(); capture_ids.len()];
    let mut current = 0usize;
    let mut since_checkpoint = 0u64;
    let mut warnings = Vec::new();
    let mut last_ts = otposture_model::Timestamp::default();
    let mut last_checkpoint = Instant::now();
    loop {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let idle = match source.poll_packet(CHECKPOINT_INTERVAL) {
            Ok(Polled::Packet(p)) => {
                current = p.source;
                if let Some(cs) = per_capture.get_mut(p.source) {
                    cs.packets += 1;
                    cs.bytes += p.data.len() as u64;
                    cs.first_ts = Some(cs.first_ts.map_or(p.ts, |t| t.min(p.ts)));
                    cs.last_ts = Some(cs.last_ts.map_or(p.ts, |t| t.max(p.ts)));
                    // Named once per link type and capture, not per packet.
                    if let Some(seen) = link_types_seen.get_mut(p.source).filter(|s| !s.contains(&p.linktype)) {
                        seen.push(p.linktype);
                        cs.link_types.push(link_name(p.linktype));
                    }
                }
                engine.packet(&raw(&p));
                if let Some(c) = p.comment {
                    engine.annotate(p.ts, p.record, "comment", vec![("text".into(), c.to_compact_string())]);
                }
                last_ts = p.ts;
                since_checkpoint += 1;
                false
            }
            Ok(Polled::Idle) => true,
            Ok(Polled::End) => break,
            Err(e) => {
                failures.push(e);
                // A file that fails is closed where it failed and the merge
                // goes on with the others; a live interface that fails ends.
                if args.iface.is_some() {
                    break;
                }
                continue;
            }
        };
        // A quiet live network: what came since the last checkpoint is stored.
        let due = if idle {
            since_checkpoint > 0
        } else {
            since_checkpoint >= CHECKPOINT_PACKETS
                || engine.needs_checkpoint()
                || (since_checkpoint % CHECKPOINT_CHECK_EVERY == 0 && last_checkpoint.elapsed() >= CHECKPOINT_INTERVAL)
        };
        if due {
            since_checkpoint = 0;
            warnings.extend(source.take_warnings());
            annotate_notes(&mut engine, source.take_notes(), last_ts);
            checkpoint(&mut engine, &mut writer, &captures, current, &per_capture)?;
            last_checkpoint = Instant::now();
        }
        if !idle && since_checkpoint % 16_384 == 0 {
            let pr = source.progress();
            bar.set_position(pr.bytes_read);
            bar.set_message(format!("{} packets", pr.packets));
        }
    }
    warnings.extend(source.take_warnings());
    annotate_notes(&mut engine, source.take_notes(), last_ts);
    let interrupted = stop.load(Ordering::Relaxed);
    let mut out = Vec::new();
    engine.finish(&mut out);
    writer.write(&captures, out)?;
    let mut store = writer.finish()?;
    bar.finish_and_clear();
    let elapsed = t0.elapsed();

    let status = if !failures.is_empty() {
        RunStatus::Failed
    } else if interrupted {
        RunStatus::Interrupted
    } else {
        RunStatus::Complete
    };
    for (i, id) in capture_ids.iter().enumerate() {
        let stats = per_capture.get(i).cloned().unwrap_or_default();
        let failed =
            failures.iter().find(|e| e.path().is_some_and(|f| inputs.get(i).is_some_and(|p| Path::new(p) == f)));
        let (st, err) = if let Some(e) = failed {
            (RunStatus::Failed, Some(e.to_string()))
        } else if interrupted {
            (RunStatus::Interrupted, None)
        } else {
            (RunStatus::Complete, None)
        };
        store.finish_capture(*id, st, err.as_deref(), &stats, now_secs())?;
    }
    let stats = engine.stats();
    let summary = summary_json(&stats, &inputs, network, elapsed, &warnings, &failures);
    store.finish_run(run_id, status, now_secs(), &summary)?;
    // The inventory is rebuilt from everything stored; if that fails, what
    // was analysed stays stored and `otposture assets rebuild` retries.
    let inventory = crate::assets::rebuild(&mut store);
    if let Err(e) = &inventory {
        eprintln!("warning: building the asset inventory: {e:#}");
    }

    match args.summary {
        SummaryFormat::Json => println!("{}", serde_json::to_string_pretty(&summary)?),
        SummaryFormat::Text => {
            print_summary(&stats, &inputs, elapsed, &warnings, &db);
            if let Ok(b) = &inventory {
                println!("  inventory     {} assets, {} edges (otposture assets, otposture map)", b.assets, b.edges);
            }
        }
    }
    for w in warnings.iter().take(20) {
        eprintln!("warning: {}: record {} at byte offset {}: {}", w.path.display(), w.record, w.offset, w.what);
    }
    if warnings.len() > 20 {
        eprintln!("warning: ... and {} more warnings", warnings.len() - 20);
    }
    if !failures.is_empty() {
        for e in &failures {
            eprintln!("error: {e}");
        }
        let given = inputs.len() + unopened;
        if given > 1 {
            eprintln!(
                "note: {} of {given} inputs failed; everything decoded before each error, and every other input, is stored in {}",
                failures.len(),
                db.display()
            );
        } else {
            eprintln!("note: everything decoded before the error is stored in {}", db.display());
        }
        return Ok(exit::BAD_INPUT);
    }
    if interrupted {
        eprintln!("interrupted: everything decoded so far is stored in {}", db.display());
        return Ok(exit::INTERRUPTED);
    }
    if args.strict && !warnings.is_empty() {
        return Ok(exit::WARNINGS);
    }
    Ok(exit::OK)
}

/// What the capture files say besides packets becomes annotation events, so a
/// section comment, a name table or a drop count survives into the database.
fn annotate_notes(engine: &mut Engine, notes: Vec<otposture_capture::Note>, ts: otposture_model::Timestamp) {
    use otposture_capture::NoteKind;
    for n in notes {
        let (name, attrs): (&'static str, Vec<(std::borrow::Cow<'static, str>, otposture_model::AttrValue)>) =
            match n.kind {
                NoteKind::SectionComment(text) => ("section_comment", vec![("text".into(), text.into())]),
                NoteKind::ResolvedName { ip, name } => {
                    ("resolved_name", vec![("ip".into(), ip.to_compact_string()), ("name".into(), name.into())])
                }
                NoteKind::InterfaceDrops { interface, dropped } => (
                    "interface_drops",
                    vec![
                        ("interface".into(), interface.to_compact_string()),
                        ("dropped".into(), dropped.to_compact_string()),
                    ],
                ),
                _ => continue,
            };
        engine.annotate(ts, n.after_record, name, attrs);
    }
}

/// Hands what the engine has ready to the writer, with the capture's progress.
fn checkpoint(
    engine: &mut Engine,
    writer: &mut Writer,
    captures: &Arc<[CaptureId]>,
    current: usize,
    per_capture: &[CaptureStats],
) -> anyhow::Result<()> {
    let mut batch: Vec<Observation> = Vec::new();
    engine.checkpoint(&mut batch);
    writer.write(captures, batch)?;
    if let (Some(id), Some(stats)) = (captures.get(current), per_capture.get(current)) {
        writer.progress(*id, stats.clone())?;
    }
    Ok(())
}

fn link_name(linktype: u32) -> String {
    otposture_wire_name(linktype).map_or_else(|| format!("linktype-{linktype}"), str::to_string)
}

fn otposture_wire_name(linktype: u32) -> Option<&'static str> {
    otposture_wire::LinkType::from_linktype(linktype).map(|l| l.name())
}

fn progress_bar(quiet: bool, total: Option<u64>) -> ProgressBar {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(t) => ProgressBar::new(t).with_style(
            ProgressStyle::with_template(
                "{spinner} {elapsed_precise} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {elapsed_precise} {bytes} {bytes_per_sec} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn summary_json(
    s: &EngineStats,
    inputs: &[String],
    network: Option<&str>,
    elapsed: Duration,
    warnings: &[otposture_capture::Warning],
    failures: &[CaptureError],
) -> serde_json::Value {
    let secs = elapsed.as_secs_f64().max(1e-9);
    let mut summary = serde_json::json!({
        "schema": "otposture.analyze.summary/1",
        "inputs": inputs,
        "packets": s.packets,
        "bytes": s.bytes,
        "elapsed_seconds": elapsed.as_secs_f64(),
        "megabytes_per_second": s.bytes as f64 / 1e6 / secs,
        "first_seen": s.first_ts.map(|t| t.to_rfc3339()),
        "last_seen": s.last_ts.map(|t| t.to_rfc3339()),
        "hosts": s.hosts,
        "flows": s.flows,
        "transport": { "tcp": s.tcp, "udp": s.udp, "icmp": s.icmp, "other_ip": s.other_ip, "non_ip": s.l2_frames, "llc": s.llc_frames },
        "decapsulated": s.decapsulated,
        "hsr_duplicates": s.hsr_duplicates,
        "prp_frames": s.prp_frames,
        "prp_duplicates": s.prp_duplicates,
        "protocols": s.messages.iter().map(|(p, c, n)| serde_json::json!({"protocol": p, "class": c, "messages": n})).collect::<Vec<_>>(),
        "flow_ends": s.flow_ends,
        "identities_repeated": s.identities_repeated,
        "anomalies": {
            "decode_errors": s.decode_errors,
            "unsupported_link_types": s.unsupported_link_types.iter().map(|(k, v)| (k.to_string(), *v)).collect::<std::collections::BTreeMap<_, _>>(),
            "snapped_packets": s.snapped,
            "tcp_gaps": s.anomalies.gaps,
            "tcp_gap_bytes": s.anomalies.gap_bytes,
            "tcp_retransmissions": s.anomalies.retransmissions,
            "tcp_overlaps": s.anomalies.overlaps,
            "tcp_conflicting_overlaps": s.anomalies.conflicting_overlaps,
            "tcp_out_of_order": s.anomalies.out_of_order,
            "malformed_messages": s.anomalies.malformed,
            "unexpected_protocols": s.unexpected_protocols,
            "capture_warnings": warnings.len(),
        },
        "caps": {
            "flow_table_cap_hits": s.flow_table.cap_hits,
            "flow_table_cap_evictions": s.flow_table.cap_evictions,
            "stream_buffer_cap_hits": s.anomalies.buffer_cap_hits,
            "fragment_cap_drops": s.defrag.cap_drops,
            "fragment_timeouts": s.defrag.timed_out,
            "events_dropped": s.events_dropped,
            "anomaly_events_unkept": s.anomaly_events_unkept,
            "peak_flows": s.flow_table.peak_flows,
        },
        "fragments": { "received": s.defrag.fragments, "reassembled": s.defrag.reassembled, "overlaps": s.defrag.overlaps, "invalid": s.defrag.invalid },
        "error": failures.first().map(ToString::to_string),
        "errors": failures.iter().map(ToString::to_string).collect::<Vec<_>>(),
    });
    // Named networks only, as elsewhere: the unnamed network's output is as it was.
    if let (Some(network), Some(map)) = (network, summary.as_object_mut()) {
        map.insert("network".into(), network.into());
    }
    summary
}

fn print_summary(
    s: &EngineStats,
    inputs: &[String],
    elapsed: Duration,
    warnings: &[otposture_capture::Warning],
    db: &Path,
) {
    let secs = elapsed.as_secs_f64().max(1e-9);
    println!(
        "Analysed {} ({} packets, {:.1} MB in {:.2} s, {:.0} MB/s)",
        inputs.join(", "),
        s.packets,
        s.bytes as f64 / 1e6,
        secs,
        s.bytes as f64 / 1e6 / secs
    );
    if let (Some(a), Some(b)) = (s.first_ts, s.last_ts) {
        println!("  time span     {a} .. {b}");
    }
    println!("  hosts         {}", s.hosts);
    println!(
        "  flows         {} (tcp {} / udp {} / icmp {} / other {} packets; {} non-IP frames)",
        s.flows, s.tcp, s.udp, s.icmp, s.other_ip, s.l2_frames
    );
    if !s.decapsulated.is_empty() {
        let line: Vec<String> = s.decapsulated.iter().map(|(e, n)| format!("{e} {n}")).collect();
        println!(
            "  carried       frames taken out of remote SPAN, tunnel, MPLS and HSR packets: {}{}",
            line.join(", "),
            match s.hsr_duplicates {
                0 => String::new(),
                n => format!(" ({n} HSR ring copies passed over)"),
            }
        );
    }
    if !s.prp_frames.is_empty() {
        let line: Vec<String> = s.prp_frames.iter().map(|(l, n)| format!("{l} {n}")).collect();
        println!(
            "  prp           frames with a PRP trailer: {} ({} copies from the other LAN passed over)",
            line.join(", "),
            s.prp_duplicates
        );
    }
    if !s.messages.is_empty() {
        let mut line = String::new();
        for (p, c, n) in &s.messages {
            line.push_str(&format!("{p}/{c} {n}  "));
        }
        println!("  protocols     {}", line.trim_end());
    }
    let a = &s.anomalies;
    println!(
        "  anomalies     decode errors {}, snapped {}, tcp gaps {} ({} bytes), retransmissions {}, overlaps {} ({} conflicting), malformed {}, other protocols on industrial ports {}, capture warnings {}",
        s.decode_errors.values().sum::<u64>(), s.snapped, a.gaps, a.gap_bytes, a.retransmissions, a.overlaps, a.conflicting_overlaps, a.malformed, s.unexpected_protocols, warnings.len()
    );
    if !s.unsupported_link_types.is_empty() {
        println!("  unsupported   link types {:?} (packets counted, not decoded)", s.unsupported_link_types);
    }
    println!(
        "  caps hit      flow table {} (evicted {}), stream buffers {}, fragments {}, events {}, anomaly events {}",
        s.flow_table.cap_hits,
        s.flow_table.cap_evictions,
        a.buffer_cap_hits,
        s.defrag.cap_drops,
        s.events_dropped,
        s.anomaly_events_unkept
    );
    println!("  stored in     {}", db.display());
}
