//! The dispatcher: a queue and a thread per target, retries, the deadline, the dead-letter file.
//!
//! `send` takes each target's lock only to push (the threads never hold it
//! during I/O), so it never waits on a receiver. Each target's thread delivers
//! its queue in order, one alert at a time: a failure is retried after
//! [`crate::backoff_delay`] (or the receiver's `Retry-After`, capped) until
//! `max_attempts`; a permanent failure (a webhook's 4xx) goes to the dead-letter
//! file at once. `finish` lets the queues drain for at most `deadline_secs`, then
//! takes what is left (queued and in flight) to the dead-letter file itself,
//! leaving a thread stuck in I/O to end on its own timeout. An alert in flight
//! at the deadline may therefore be both delivered and dead-lettered: delivery
//! is at least once, and receivers de-duplicate by the alert id.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::{validate, AlertsConfig};
use crate::deadletter::{self, DeadLetter, DeadLetterFile, Line};
use crate::syslog::SyslogSink;
use crate::webhook::WebhookSink;
use crate::{Alert, AlertError, Severity};

/// A receiver, as one target's thread drives it.
pub(crate) trait Sink: Send + std::fmt::Debug {
    /// One attempt to deliver one alert.
    fn deliver(&mut self, alert: &Alert) -> Result<(), Failure>;
}

/// Why an attempt failed, and whether trying again can help.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) error: String,
    pub(crate) kind: FailureKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// Try again after the backoff.
    Retry,
    /// Try again after this long (the receiver said so), capped by `max_backoff_ms`.
    RetryAfter(Duration),
    /// Trying again will not help: dead-letter now.
    Permanent,
}

impl Failure {
    pub(crate) fn retry(error: String) -> Failure {
        Failure { error, kind: FailureKind::Retry }
    }
    pub(crate) fn retry_after(error: String, after: Duration) -> Failure {
        Failure { error, kind: FailureKind::RetryAfter(after) }
    }
    pub(crate) fn permanent(error: String) -> Failure {
        Failure { error, kind: FailureKind::Permanent }
    }
}

/// What happened to the alerts of one run (or one `redeliver`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    /// One per target, in configuration order (syslog targets, then webhooks).
    pub targets: Vec<TargetReport>,
    /// `redeliver` only: entries naming a target that is not configured (kept in the file).
    pub unknown_target: u64,
    /// `redeliver` only: lines of the file that are not entries (kept in the file as they are).
    pub unreadable_lines: u64,
}

impl DeliveryReport {
    /// Whether every alert reached every target it was meant for.
    pub fn all_delivered(&self) -> bool {
        self.unknown_target == 0 && self.targets.iter().all(|t| t.dead_lettered == 0 && t.lost == 0)
    }

    /// How many (target, alert) pairs went to the dead-letter file.
    pub fn dead_lettered(&self) -> u64 {
        self.targets.iter().map(|t| t.dead_lettered).sum()
    }
}

/// One target's counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TargetReport {
    /// The target's `name`.
    pub name: String,
    /// `"syslog"` or `"webhook"`.
    pub kind: String,
    /// Alerts the receiver accepted.
    pub delivered: u64,
    /// Attempts after a failed one (an alert delivered at its third attempt counts 2).
    pub retried: u64,
    /// Alerts written to the dead-letter file.
    pub dead_lettered: u64,
    /// Alerts below this target's severity threshold, not sent.
    pub filtered: u64,
    /// Alerts neither delivered nor dead-lettered because the dead-letter file
    /// could not be written (see `last_error`). Should always be 0.
    pub lost: u64,
    /// The last failure, delivery or dead-letter file.
    pub last_error: Option<String>,
}

impl std::fmt::Display for DeliveryReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for t in &self.targets {
            write!(
                f,
                "{} {}: {} delivered, {} retried, {} dead-lettered",
                t.kind, t.name, t.delivered, t.retried, t.dead_lettered
            )?;
            if t.lost > 0 {
                write!(f, ", {} LOST", t.lost)?;
            }
            if let Some(e) = &t.last_error {
                write!(f, " (last error: {e})")?;
            }
            writeln!(f)?;
        }
        if self.unknown_target > 0 {
            writeln!(f, "{} dead-letter entries name no configured target (kept)", self.unknown_target)?;
        }
        if self.unreadable_lines > 0 {
            writeln!(f, "{} dead-letter lines are not entries (kept as they are)", self.unreadable_lines)?;
        }
        Ok(())
    }
}

/// An alert on its way to one target.
#[derive(Debug)]
struct Pending {
    alert: Arc<Alert>,
    /// Attempts so far, earlier runs included.
    attempts: u32,
    last_error: String,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<Pending>,
    in_flight: Option<Pending>,
    /// The thread is writing a dead-letter line.
    writing: bool,
    /// `finish` was called: drain, then stop.
    closing: bool,
    /// The deadline passed: stop now; `finish` took the alerts.
    abandoned: bool,
    report: TargetReport,
}

impl State {
    fn idle(&self) -> bool {
        self.queue.is_empty() && self.in_flight.is_none() && !self.writing
    }
}

#[derive(Debug)]
struct Shared {
    name: String,
    state: Mutex<State>,
    wake: Condvar,
}

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Where undelivered alerts go: the file, or (for `redeliver`) a list to rewrite the file from.
#[derive(Debug)]
enum Output {
    File(DeadLetterFile),
    Memory(Mutex<Vec<DeadLetter>>),
}

impl Output {
    fn put(&self, target: &str, pending: Pending) -> Result<(), String> {
        let entry = DeadLetter {
            target: target.to_owned(),
            alert: Arc::unwrap_or_clone(pending.alert),
            attempts: pending.attempts,
            last_error: pending.last_error,
            dead_lettered_at_ns: crate::clock::now_ns(),
        };
        match self {
            Output::File(file) => file.append(&entry).map_err(|e| format!("writing the dead-letter file: {e}")),
            Output::Memory(list) => {
                list.lock().unwrap_or_else(PoisonError::into_inner).push(entry);
                Ok(())
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Policy {
    max_attempts: u32,
    initial_backoff_ms: u64,
    max_backoff_ms: u64,
    max_queue: usize,
}

#[derive(Debug)]
struct Target {
    shared: Arc<Shared>,
    min_severity: Severity,
    thread: Option<JoinHandle<()>>,
}

/// Delivers alerts in the background. Start it once per run, [`send`](Self::send)
/// every alert, then [`finish`](Self::finish) (dropping it finishes too, and
/// discards the report).
#[derive(Debug)]
pub struct Dispatcher {
    targets: Vec<Target>,
    output: Arc<Output>,
    policy: Policy,
    deadline: Duration,
    finished: bool,
}

impl Dispatcher {
    /// Checks the configuration ([`validate`]), loads secrets and trust anchors,
    /// and starts one thread per target. Connections are made at the first alert.
    pub fn start(config: &AlertsConfig) -> Result<Dispatcher, AlertError> {
        let output = Output::File(DeadLetterFile::new(config.dead_letter.clone()));
        Dispatcher::start_with(config, output)
    }

    fn start_with(config: &AlertsConfig, output: Output) -> Result<Dispatcher, AlertError> {
        let problems = validate(config);
        if !problems.is_empty() {
            return Err(AlertError::Invalid { problems });
        }
        let target_error = |target: &str| {
            let target = target.to_owned();
            move |problem: String| AlertError::Target { target, problem }
        };
        let mut sinks: Vec<(String, &'static str, Severity, Box<dyn Sink>)> = Vec::new();
        for t in &config.syslog {
            let sink = SyslogSink::new(t).map_err(target_error(&t.name))?;
            sinks.push((t.name.clone(), "syslog", t.min_severity.unwrap_or(config.min_severity), Box::new(sink)));
        }
        for t in &config.webhook {
            let sink = WebhookSink::new(t).map_err(target_error(&t.name))?;
            sinks.push((t.name.clone(), "webhook", t.min_severity.unwrap_or(config.min_severity), Box::new(sink)));
        }
        let policy = Policy {
            max_attempts: config.max_attempts.max(1),
            initial_backoff_ms: config.initial_backoff_ms,
            max_backoff_ms: config.max_backoff_ms,
            max_queue: config.max_queue.max(1),
        };
        let output = Arc::new(output);
        let mut dispatcher = Dispatcher {
            targets: Vec::new(),
            output: Arc::clone(&output),
            policy,
            deadline: Duration::from_secs(config.deadline_secs),
            finished: false,
        };
        for (name, kind, min_severity, sink) in sinks {
            let report = TargetReport { name: name.clone(), kind: kind.to_owned(), ..TargetReport::default() };
            let state = State { report, ..State::default() };
            let shared = Arc::new(Shared { name: name.clone(), state: Mutex::new(state), wake: Condvar::new() });
            let thread = std::thread::Builder::new()
                .name(format!("alerts-{name}"))
                .spawn({
                    let shared = Arc::clone(&shared);
                    let output = Arc::clone(&output);
                    move || run_target(&shared, sink, policy, &output)
                })
                .map_err(|e| AlertError::Target {
                    target: name.clone(),
                    problem: format!("cannot start a thread: {e}"),
                })?;
            // On an error above, dropping `dispatcher` finishes the targets already started.
            dispatcher.targets.push(Target { shared, min_severity, thread: Some(thread) });
        }
        Ok(dispatcher)
    }

    /// Queues an alert for every target whose severity threshold it meets.
    /// Never blocks on a receiver and never fails: a full queue
    /// (`max_queue`) sends the alert straight to the dead-letter file.
    pub fn send(&self, alert: Alert) {
        let alert = Arc::new(alert);
        for target in &self.targets {
            if alert.severity < target.min_severity {
                lock(&target.shared).report.filtered += 1;
                continue;
            }
            self.enqueue(target, Pending { alert: Arc::clone(&alert), attempts: 0, last_error: String::new() });
        }
    }

    fn enqueue(&self, target: &Target, pending: Pending) {
        let mut state = lock(&target.shared);
        if state.queue.len() < self.policy.max_queue {
            state.queue.push_back(pending);
            drop(state);
            target.shared.wake.notify_all();
            return;
        }
        let error = format!("queue full ({} alerts waiting): the receiver is too slow or down", self.policy.max_queue);
        state.report.dead_lettered += 1;
        drop(state);
        let last_error = if pending.last_error.is_empty() { error } else { pending.last_error.clone() };
        let result = self.output.put(&target.shared.name, Pending { last_error, ..pending });
        if let Err(e) = result {
            let mut state = lock(&target.shared);
            state.report.dead_lettered -= 1;
            state.report.lost += 1;
            state.report.last_error = Some(e);
        }
    }

    /// Waits at most `deadline_secs` for the queues to drain, dead-letters
    /// every alert still undelivered, and reports per target.
    pub fn finish(mut self) -> DeliveryReport {
        self.finish_inner()
    }

    fn finish_inner(&mut self) -> DeliveryReport {
        if self.finished {
            return DeliveryReport::default();
        }
        self.finished = true;
        for target in &self.targets {
            lock(&target.shared).closing = true;
            target.shared.wake.notify_all();
        }
        let deadline = Instant::now() + self.deadline;
        for target in &self.targets {
            let mut state = lock(&target.shared);
            while !state.idle() {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                state =
                    target.shared.wake.wait_timeout(state, deadline - now).unwrap_or_else(PoisonError::into_inner).0;
            }
        }
        let mut report = DeliveryReport::default();
        for target in &mut self.targets {
            let leftovers = {
                let mut state = lock(&target.shared);
                if state.idle() {
                    Vec::new()
                } else {
                    state.abandoned = true;
                    let mut left: Vec<Pending> = state.in_flight.take().into_iter().collect();
                    left.extend(state.queue.drain(..));
                    left
                }
            };
            target.shared.wake.notify_all();
            let deadline_note = format!("not delivered within deadline_secs = {}", self.deadline.as_secs());
            for mut pending in leftovers {
                if pending.last_error.is_empty() {
                    pending.last_error.clone_from(&deadline_note);
                }
                let result = self.output.put(&target.shared.name, pending);
                let mut state = lock(&target.shared);
                match result {
                    Ok(()) => state.report.dead_lettered += 1,
                    Err(e) => {
                        state.report.lost += 1;
                        state.report.last_error = Some(e);
                    }
                }
            }
            // A thread writing its own dead-letter line finishes that first (a local write).
            let mut state = lock(&target.shared);
            let wait_until = Instant::now() + Duration::from_secs(2);
            while state.writing && Instant::now() < wait_until {
                state = target
                    .shared
                    .wake
                    .wait_timeout(state, Duration::from_millis(20))
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            let abandoned = state.abandoned;
            report.targets.push(state.report.clone());
            drop(state);
            // A thread left behind in I/O ends on its own timeout; joining would wait for it.
            if let Some(thread) = target.thread.take() {
                if !abandoned {
                    let _ = thread.join();
                }
            }
        }
        report
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        // Never lose queued alerts: dropping without `finish` finishes.
        let _ = self.finish_inner();
    }
}

/// One target's thread: deliver the queue in order until `finish`.
fn run_target(shared: &Shared, mut sink: Box<dyn Sink>, policy: Policy, output: &Output) {
    loop {
        let alert = {
            let mut state = lock(shared);
            loop {
                if state.abandoned {
                    return;
                }
                if let Some(pending) = state.queue.pop_front() {
                    let alert = Arc::clone(&pending.alert);
                    state.in_flight = Some(pending);
                    break alert;
                }
                if state.closing {
                    return;
                }
                state = shared.wake.wait(state).unwrap_or_else(PoisonError::into_inner);
            }
        };
        let mut failures = 0u32;
        loop {
            let result = sink.deliver(&alert);
            let mut state = lock(shared);
            if state.abandoned {
                // `finish` has dead-lettered this alert already.
                return;
            }
            let Some(pending) = state.in_flight.as_mut() else { return };
            pending.attempts = pending.attempts.saturating_add(1);
            let failure = match result {
                Ok(()) => {
                    state.in_flight = None;
                    state.report.delivered += 1;
                    drop(state);
                    shared.wake.notify_all();
                    break;
                }
                Err(failure) => failure,
            };
            pending.last_error.clone_from(&failure.error);
            state.report.last_error = Some(failure.error);
            failures += 1;
            if failure.kind == FailureKind::Permanent || failures >= policy.max_attempts {
                let Some(pending) = state.in_flight.take() else { return };
                state.writing = true;
                drop(state);
                let result = output.put(&shared.name, pending);
                let mut state = lock(shared);
                state.writing = false;
                match result {
                    Ok(()) => state.report.dead_lettered += 1,
                    Err(e) => {
                        state.report.lost += 1;
                        state.report.last_error = Some(e);
                    }
                }
                drop(state);
                shared.wake.notify_all();
                break;
            }
            state.report.retried += 1;
            let delay = match failure.kind {
                FailureKind::RetryAfter(after) => after.min(Duration::from_millis(policy.max_backoff_ms)),
                FailureKind::Retry | FailureKind::Permanent => crate::backoff::backoff_delay(
                    failures,
                    policy.initial_backoff_ms,
                    policy.max_backoff_ms,
                    crate::backoff::random_jitter(),
                ),
            };
            // Sleep on the condition variable, so the deadline's abandonment wakes us.
            let until = Instant::now() + delay;
            loop {
                if state.abandoned {
                    return;
                }
                let now = Instant::now();
                if now >= until {
                    break;
                }
                state = shared.wake.wait_timeout(state, until - now).unwrap_or_else(PoisonError::into_inner).0;
            }
        }
    }
}

/// Sends the dead-letter file's entries again, to the targets they name, with
/// the same retries and deadline as a run. Rewrites the file (temporary file
/// and rename) with only the entries that still fail, their attempts counted
/// on, plus entries naming unknown targets and unreadable lines, kept as they are.
/// The severity filter does not apply: these alerts passed it when first sent.
pub fn redeliver(config: &AlertsConfig) -> Result<DeliveryReport, AlertError> {
    let path = &config.dead_letter;
    let file_error = |source| AlertError::DeadLetter { path: path.clone(), source };
    let (lines, read_len) = deadletter::read(path).map_err(file_error)?;
    let mut dispatcher = Dispatcher::start_with(config, Output::Memory(Mutex::new(Vec::new())))?;
    let mut unreadable = Vec::new();
    let mut kept = Vec::new();
    for line in lines {
        match line {
            Line::Unreadable(text) => unreadable.push(text),
            Line::Entry(entry) => match dispatcher.targets.iter().find(|t| t.shared.name == entry.target) {
                Some(target) => dispatcher.enqueue(
                    target,
                    Pending { alert: Arc::new(entry.alert), attempts: entry.attempts, last_error: entry.last_error },
                ),
                None => kept.push(*entry),
            },
        }
    }
    let mut report = dispatcher.finish_inner();
    report.unknown_target = u64::try_from(kept.len()).unwrap_or(u64::MAX);
    report.unreadable_lines = u64::try_from(unreadable.len()).unwrap_or(u64::MAX);
    if let Output::Memory(list) = &*dispatcher.output {
        kept.append(&mut list.lock().unwrap_or_else(PoisonError::into_inner));
    }
    deadletter::rewrite(path, &unreadable, &kept, read_len).map_err(file_error)?;
    Ok(report)
}
