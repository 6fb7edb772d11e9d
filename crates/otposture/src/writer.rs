//! The store's writer thread: `analyze` hands each checkpoint's observations
//! over and goes on dissecting while SQLite writes them.
//!
//! With the write on the analysing thread, a capture rich in individually kept
//! operations spent most of its time in SQLite and dissection waited. Here the two
//! overlap; a bounded queue of [`QUEUE`] batches keeps memory bounded (the
//! analysing thread waits when the writer falls behind). The writer owns the
//! [`Store`] while it runs and gives it back at [`Writer::finish`], so the run's
//! bookkeeping stays on one connection and in order.

use anyhow::Context;
use otposture_model::Observation;
use otposture_store::{CaptureId, CaptureStats, Store};
use std::sync::mpsc::{sync_channel, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Batches waiting for the writer before the analysing thread blocks.
const QUEUE: usize = 2;

/// How long the writer groups batches into one transaction. Committing each
/// checkpoint (a dozen a second at full speed) wrote the pages every batch
/// dirties in the indices to the WAL again each time: 110 MB of WAL for a 43 MB
/// database on the benchmark capture, 55 MB grouped. A reader sees the analysis at most this
/// much behind, and a crash loses at most this much of it (the capture row then
/// says `running`, and analysing the capture again completes it).
const COMMIT_EVERY: Duration = Duration::from_secs(1);

enum Job {
    /// Observations, and the captures their `source` indices name.
    Batch(Arc<[CaptureId]>, Vec<Observation>),
    Progress(CaptureId, CaptureStats),
}

/// A store being written on its own thread.
pub(crate) struct Writer {
    jobs: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<anyhow::Result<Store>>>,
}

impl Writer {
    /// Moves `store` to a new writer thread.
    pub(crate) fn spawn(mut store: Store) -> anyhow::Result<Writer> {
        let (jobs, queue) = sync_channel::<Job>(QUEUE);
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || {
                // The first failure ends the thread; dropping the receiver makes the
                // next `write` fail, and `finish` returns the error.
                let mut group: Option<Instant> = None;
                loop {
                    // With a group open, wait for the next job no longer than
                    // the group has left: a pause in the input (a live capture,
                    // a slow pipe) commits what was written.
                    let job = match group {
                        Some(started) => match queue.recv_timeout(COMMIT_EVERY.saturating_sub(started.elapsed())) {
                            Ok(job) => job,
                            Err(RecvTimeoutError::Timeout) => {
                                store.commit_group()?;
                                group = None;
                                continue;
                            }
                            Err(RecvTimeoutError::Disconnected) => break,
                        },
                        None => match queue.recv() {
                            Ok(job) => job,
                            Err(_) => break,
                        },
                    };
                    if group.is_none() {
                        store.begin_group()?;
                        group = Some(Instant::now());
                    }
                    match job {
                        Job::Batch(captures, observations) => store.write_batch_of(&captures, &observations)?,
                        Job::Progress(capture, stats) => store.update_capture_progress(capture, &stats)?,
                    }
                    if group.is_some_and(|started| started.elapsed() >= COMMIT_EVERY) {
                        store.commit_group()?;
                        group = None;
                    }
                }
                store.commit_group()?;
                Ok(store)
            })
            .context("starting the store writer thread")?;
        Ok(Writer { jobs: Some(jobs), thread: Some(thread) })
    }

    /// Queues a batch of observations, each written under the capture its
    /// `source` names in `captures` (the inputs analysed together, in order;
    /// empty batches are skipped). Waits while the queue is full. Fails when
    /// the writer has stopped on an error.
    pub(crate) fn write(&mut self, captures: &Arc<[CaptureId]>, observations: Vec<Observation>) -> anyhow::Result<()> {
        if observations.is_empty() {
            return Ok(());
        }
        self.send(Job::Batch(Arc::clone(captures), observations))
    }

    /// Queues a progress update of `capture`, applied after the batches before it.
    pub(crate) fn progress(&mut self, capture: CaptureId, stats: CaptureStats) -> anyhow::Result<()> {
        self.send(Job::Progress(capture, stats))
    }

    fn send(&mut self, job: Job) -> anyhow::Result<()> {
        let sent = self.jobs.as_ref().is_some_and(|jobs| jobs.send(job).is_ok());
        if sent {
            return Ok(());
        }
        // The writer is gone: its error says why.
        match self.join() {
            Ok(_) => anyhow::bail!("the store writer thread stopped unexpectedly"),
            Err(e) => Err(e),
        }
    }

    /// Waits for every queued job to be written and returns the store.
    pub(crate) fn finish(mut self) -> anyhow::Result<Store> {
        self.join()
    }

    fn join(&mut self) -> anyhow::Result<Store> {
        self.jobs = None;
        let thread = self.thread.take().context("the store writer was already finished")?;
        match thread.join() {
            Ok(result) => result,
            Err(_) => anyhow::bail!("the store writer thread panicked"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use otposture_model::{Event, EventKind, Timestamp};

    fn event(packet: u64) -> Observation {
        Observation::Event(Event {
            ts: Timestamp(1_000 + i64::try_from(packet).unwrap()),
            packet,
            source: 0,
            flow: None,
            protocol: "test".into(),
            kind: EventKind::Annotation,
            name: "note".into(),
            class: None,
            src_mac: None,
            src_ip: None,
            dst_ip: None,
            attributes: Vec::new(),
        })
    }

    #[test]
    fn everything_queued_is_written_before_finish_returns() {
        let mut store = Store::open_in_memory().unwrap();
        let capture = store.begin_capture("f", std::path::Path::new("p"), 0, 0).unwrap();
        let captures: Arc<[CaptureId]> = Arc::from([capture]);
        let mut writer = Writer::spawn(store).unwrap();
        for b in 0..10u64 {
            writer.write(&captures, (0..100).map(|i| event(b * 100 + i + 1)).collect()).unwrap();
        }
        let stats = CaptureStats { packets: 1000, ..Default::default() };
        writer.progress(capture, stats).unwrap();
        let store = writer.finish().unwrap();
        assert_eq!(store.counts().unwrap().events, 1000);
        assert_eq!(store.captures().unwrap()[0].packets, 1000);
    }

    #[test]
    fn batches_are_committed_in_groups_and_a_pause_commits_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("w.db");
        let mut store = Store::open(&db).unwrap();
        let capture = store.begin_capture("f", std::path::Path::new("p"), 0, 0).unwrap();
        let captures: Arc<[CaptureId]> = Arc::from([capture]);
        let mut writer = Writer::spawn(store).unwrap();
        writer.write(&captures, (1..=100).map(event).collect()).unwrap();
        writer.write(&captures, (101..=200).map(event).collect()).unwrap();
        // Another connection sees nothing before the group commits (readers
        // see only committed groups), and everything once the writer has been
        // idle for a group's time, while it still runs.
        let reader = Store::open(&db).unwrap();
        let t0 = Instant::now();
        let early = reader.counts().unwrap().events;
        std::thread::sleep(COMMIT_EVERY + Duration::from_millis(500));
        assert_eq!(reader.counts().unwrap().events, 200, "committed while idle");
        if t0.elapsed() < COMMIT_EVERY / 2 {
            // Read right away (not delayed by a loaded machine): still uncommitted.
            assert_eq!(early, 0, "two batches written in one group");
        }
        writer.write(&captures, (201..=300).map(event).collect()).unwrap();
        let store = writer.finish().unwrap();
        assert_eq!(store.counts().unwrap().events, 300);
    }

    #[test]
    fn a_failed_write_is_reported_not_lost() {
        let store = Store::open_in_memory().unwrap();
        let mut writer = Writer::spawn(store).unwrap();
        // Capture 99 does not exist: the writer stops with an error naming it.
        let mut result = Ok(());
        for _ in 0..(QUEUE + 2) {
            result = writer.write(&Arc::from([CaptureId(99)]), vec![event(1)]);
            if result.is_err() {
                break;
            }
        }
        let err = match result {
            Err(e) => e,
            Ok(()) => writer.finish().map(drop).unwrap_err(),
        };
        assert!(format!("{err:#}").contains("99"), "{err:#}");
    }
}
