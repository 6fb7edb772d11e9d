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
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

/// Batches waiting for the writer before the analysing thread blocks.
const QUEUE: usize = 2;

enum Job {
    Batch(CaptureId, Vec<Observation>),
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
                for job in queue {
                    match job {
                        Job::Batch(capture, observations) => store.write_batch(capture, &observations)?,
                        Job::Progress(capture, stats) => store.update_capture_progress(capture, &stats)?,
                    }
                }
                Ok(store)
            })
            .context("starting the store writer thread")?;
        Ok(Writer { jobs: Some(jobs), thread: Some(thread) })
    }

    /// Queues a batch of observations for `capture` (empty batches are skipped).
    /// Waits while the queue is full. Fails when the writer has stopped on an error.
    pub(crate) fn write(&mut self, capture: CaptureId, observations: Vec<Observation>) -> anyhow::Result<()> {
        if observations.is_empty() {
            return Ok(());
        }
        self.send(Job::Batch(capture, observations))
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
        let mut writer = Writer::spawn(store).unwrap();
        for b in 0..10u64 {
            writer.write(capture, (0..100).map(|i| event(b * 100 + i + 1)).collect()).unwrap();
        }
        let stats = CaptureStats { packets: 1000, ..Default::default() };
        writer.progress(capture, stats).unwrap();
        let store = writer.finish().unwrap();
        assert_eq!(store.counts().unwrap().events, 1000);
        assert_eq!(store.captures().unwrap()[0].packets, 1000);
    }

    #[test]
    fn a_failed_write_is_reported_not_lost() {
        let store = Store::open_in_memory().unwrap();
        let mut writer = Writer::spawn(store).unwrap();
        // Capture 99 does not exist: the writer stops with an error naming it.
        let mut result = Ok(());
        for _ in 0..(QUEUE + 2) {
            result = writer.write(CaptureId(99), vec![event(1)]);
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
