//! The closed-loop load generator: `concurrency` workers, each sending its next request as soon
//! as the previous one is answered, until a fixed number of requests has been sent (or a time
//! limit passes, which makes the measurement incomplete).

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use hdrhistogram::Histogram;
use indicatif::ProgressBar;

use crate::cpu::Cpu;

/// Latencies are recorded in nanoseconds, from 1 µs to 2 minutes, to 3 significant digits.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1_000, 120_000_000_000, 3).expect("valid histogram bounds")
}

/// What a batch of requests gave.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// Requests planned.
    pub planned: usize,
    /// Requests answered (successfully or not).
    pub done: u64,
    /// Requests that failed: a status other than 200, a transport error, an error result.
    pub failures: u64,
    /// The first failure, described.
    pub first_failure: Option<String>,
    /// Wall-clock time of the batch.
    pub elapsed: Duration,
    /// Latency of every answered request, in nanoseconds.
    pub latencies: Histogram<u64>,
    /// CPU time used meanwhile, when the caller measured it.
    pub cpu: Cpu,
}

impl Measurement {
    /// Nothing measured yet.
    pub fn empty() -> Self {
        Self {
            planned: 0,
            done: 0,
            failures: 0,
            first_failure: None,
            elapsed: Duration::ZERO,
            latencies: histogram(),
            cpu: Cpu::default(),
        }
    }

    /// Records `count` answers that each took `nanos` nanoseconds.
    pub fn record(&mut self, nanos: u64, count: u64) {
        // Values beyond the bounds are clamped to them.
        self.latencies.saturating_record_n(nanos, count);
    }

    /// Adds another batch of the same kind (its time adds up too).
    pub fn merge(&mut self, other: &Measurement) {
        self.planned += other.planned;
        self.done += other.done;
        self.failures += other.failures;
        if self.first_failure.is_none() {
            self.first_failure.clone_from(&other.first_failure);
        }
        self.elapsed += other.elapsed;
        self.cpu = self.cpu.plus(other.cpu);
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latencies.add(&other.latencies);
    }

    /// Merges several batches into one.
    pub fn merged<'a>(batches: impl IntoIterator<Item = &'a Measurement>) -> Self {
        let mut total = Self::empty();
        for batch in batches {
            total.merge(batch);
        }
        total
    }

    /// Requests answered per second of wall-clock time.
    pub fn throughput(&self) -> f64 {
        if self.elapsed.is_zero() {
            return 0.0;
        }
        self.done as f64 / self.elapsed.as_secs_f64()
    }

    /// A latency quantile (0.5, 0.99, 1.0), in milliseconds.
    pub fn quantile_ms(&self, quantile: f64) -> f64 {
        self.latencies.value_at_quantile(quantile) as f64 / 1e6
    }

    /// The largest latency, in milliseconds.
    pub fn max_ms(&self) -> f64 {
        self.latencies.max() as f64 / 1e6
    }

    /// CPU time per answered request, in microseconds: (server, this process, PostgreSQL).
    pub fn cpu_per_request_us(&self) -> (f64, f64, f64) {
        let per = |d: Duration| {
            if self.done == 0 {
                0.0
            } else {
                d.as_secs_f64() * 1e6 / self.done as f64
            }
        };
        (
            per(self.cpu.server),
            per(self.cpu.bench),
            per(self.cpu.postgres),
        )
    }

    /// Whether every planned request was sent before the time limit.
    pub fn complete(&self) -> bool {
        self.done as usize == self.planned
    }
}

/// Runs `operation` once per item of `items` with `concurrency` workers in a closed loop, and
/// stops taking new items after `time_limit`. An `Err` from the operation is a failure. Each
/// answered request advances `progress` by one.
pub async fn closed_loop<T, Op, Fut>(
    concurrency: usize,
    items: Vec<T>,
    time_limit: Duration,
    operation: Op,
    progress: &ProgressBar,
) -> Measurement
where
    T: Copy + Send + Sync + 'static,
    Op: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let planned = items.len();
    let items: Arc<[T]> = items.into();
    let operation = Arc::new(operation);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + time_limit;
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (items, operation, next) = (items.clone(), operation.clone(), next.clone());
            let progress = progress.clone();
            tokio::spawn(async move {
                let mut mine = Measurement::empty();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= items.len() || Instant::now() > deadline {
                        break;
                    }
                    let sent = Instant::now();
                    let outcome = operation(items[i]).await;
                    let latency = sent.elapsed();
                    mine.latencies
                        .saturating_record(u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX));
                    mine.done += 1;
                    progress.inc(1);
                    if let Err(failure) = outcome {
                        mine.failures += 1;
                        if mine.first_failure.is_none() {
                            mine.first_failure = Some(failure);
                        }
                    }
                }
                mine
            })
        })
        .collect();
    let mut total = Measurement::empty();
    for worker in workers {
        match worker.await {
            Ok(mine) => total.merge(&mine),
            Err(error) => {
                total.failures += 1;
                total
                    .first_failure
                    .get_or_insert_with(|| format!("a load worker failed: {error}"));
            }
        }
    }
    total.planned = planned;
    total.elapsed = started.elapsed();
    total
}
