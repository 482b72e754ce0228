//! Where a request's time goes inside the host — instantiating the component,
//! running its handler, the key-value operations it makes, per backend —
//! kept in lock-free log-scale histograms and
//! summarised in one line at shutdown, so a benchmark can read it without
//! the host answering anything Spin would not.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::metrics::{KvOp, BACKENDS};

/// Sub-buckets per power of two: 8 gives about 9 % resolution.
const SUB_BITS: u32 = 3;
const SUB: usize = 1 << SUB_BITS;
/// Powers of two covered (1 ns … about 18 minutes).
const POWERS: usize = 40;

/// A histogram of durations.
pub(crate) struct Histogram {
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    sum_ns: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            buckets: (0..POWERS * SUB).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_ns: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    /// Counts one duration.
    pub(crate) fn record(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1);
        self.buckets[bucket(ns).min(POWERS * SUB - 1)].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// How many durations were counted.
    pub(crate) fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The mean, in microseconds.
    pub(crate) fn mean_us(&self) -> f64 {
        let n = self.count().max(1);
        self.sum_ns.load(Ordering::Relaxed) as f64 / n as f64 / 1000.0
    }

    /// The `q` quantile (0..=1), in microseconds, to the bucket's resolution.
    pub(crate) fn quantile_us(&self, q: f64) -> f64 {
        let n = self.count();
        if n == 0 {
            return 0.0;
        }
        let rank = ((n as f64 * q).ceil() as u64).clamp(1, n);
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Ordering::Relaxed);
            if seen >= rank {
                return midpoint(i) / 1000.0;
            }
        }
        midpoint(self.buckets.len() - 1) / 1000.0
    }

    /// Adds `other`'s counts to this one's.
    fn absorb(&self, other: &Histogram) {
        for (mine, theirs) in self.buckets.iter().zip(&other.buckets) {
            mine.fetch_add(theirs.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        self.count.fetch_add(other.count(), Ordering::Relaxed);
        self.sum_ns
            .fetch_add(other.sum_ns.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    /// `p50 A µs, p99 B µs, mean C µs`.
    pub(crate) fn summary(&self) -> String {
        format!(
            "p50 {:.1} µs, p99 {:.1} µs, mean {:.1} µs",
            self.quantile_us(0.5),
            self.quantile_us(0.99),
            self.mean_us()
        )
    }
}

/// The bucket of `ns` (≥ 1): its power of two, then the next `SUB_BITS` bits.
fn bucket(ns: u64) -> usize {
    let power = 63 - ns.leading_zeros();
    if power < SUB_BITS {
        return ns as usize;
    }
    let sub = (ns >> (power - SUB_BITS)) as usize & (SUB - 1);
    (power - SUB_BITS + 1) as usize * SUB + sub
}

/// The middle of bucket `i`, in nanoseconds.
fn midpoint(i: usize) -> f64 {
    if i < SUB {
        return i as f64;
    }
    let power = (i / SUB) as u32 + SUB_BITS - 1;
    let sub = (i % SUB) as u64;
    let low = (1u64 << power) + (sub << (power - SUB_BITS));
    low as f64 + (1u64 << (power - SUB_BITS)) as f64 / 2.0
}

/// One serving thread's request timings.
#[derive(Default)]
pub(crate) struct Stats {
    /// Store creation and instantiation from the pre-instantiated component.
    pub(crate) instantiate: Histogram,
    /// The guest's `incoming-handler.handle`, until it returns.
    pub(crate) handle: Histogram,
    /// Dropping the store: the instance's memory reset for its next use.
    pub(crate) release: Histogram,
    /// Key-value operations' latency, per backend ([`BACKENDS`]).
    kv: [Histogram; BACKENDS.len()],
    /// Key-value operations, per backend and [`KvOp`].
    kv_ops: [[AtomicU64; KvOp::ALL.len()]; BACKENDS.len()],
}

impl Stats {
    /// Counts one key-value operation on backend `kind` ([`BACKENDS`]).
    pub(crate) fn kv(&self, kind: usize, op: KvOp, took: Duration) {
        if let (Some(h), Some(ops)) = (self.kv.get(kind), self.kv_ops.get(kind)) {
            h.record(took);
            ops[op as usize].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// `; key-value sqlite 0.67 ops/request (get 1000, set 2), p50 …` for
    /// every backend that served an operation (`requests` is the divisor).
    fn kv_summary(&self, requests: u64) -> String {
        let mut out = String::new();
        for (kind, name) in BACKENDS.iter().enumerate() {
            let h = &self.kv[kind];
            if h.count() == 0 {
                continue;
            }
            let ops: Vec<String> = KvOp::ALL
                .iter()
                .zip(&self.kv_ops[kind])
                .filter_map(|(op, n)| {
                    let n = n.load(Ordering::Relaxed);
                    (n > 0).then(|| format!("{} {n}", op.name()))
                })
                .collect();
            out.push_str(&format!(
                "; key-value {name} {:.2} ops/request ({}), {}",
                h.count() as f64 / requests.max(1) as f64,
                ops.join(", "),
                h.summary()
            ));
        }
        out
    }
}

/// Every serving thread's timings. Each thread records into its own shard,
/// so requests on different cores never contend for a counter's cache line.
#[derive(Default)]
pub(crate) struct StatsRegistry(std::sync::Mutex<Vec<std::sync::Arc<Stats>>>);

impl StatsRegistry {
    /// A new shard for one serving thread.
    pub(crate) fn shard(&self) -> std::sync::Arc<Stats> {
        let shard = std::sync::Arc::<Stats>::default();
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(shard.clone());
        shard
    }

    /// The shutdown line over every shard, or `None` when nothing ran.
    pub(crate) fn summary(&self) -> Option<String> {
        let all = Stats::default();
        let mut per_thread = Vec::new();
        for shard in self.0.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            all.instantiate.absorb(&shard.instantiate);
            all.handle.absorb(&shard.handle);
            all.release.absorb(&shard.release);
            for (mine, theirs) in all.kv.iter().zip(&shard.kv) {
                mine.absorb(theirs);
            }
            for (mine, theirs) in all.kv_ops.iter().zip(&shard.kv_ops) {
                for (m, t) in mine.iter().zip(theirs) {
                    m.fetch_add(t.load(Ordering::Relaxed), Ordering::Relaxed);
                }
            }
            per_thread.push(shard.instantiate.count().to_string());
        }
        (all.instantiate.count() > 0).then(|| {
            format!(
                "{} instances; instantiate {}; handle {}; release {}{}; per serving thread {}",
                all.instantiate.count(),
                all.instantiate.summary(),
                all.handle.summary(),
                all.release.summary(),
                all.kv_summary(all.instantiate.count()),
                per_thread.join(" / ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ordered_and_midpoints_fall_inside_them() {
        let mut last = 0;
        for ns in [
            1u64,
            2,
            7,
            8,
            9,
            15,
            16,
            17,
            1000,
            1023,
            1024,
            1_000_000,
            1 << 38,
        ] {
            let b = bucket(ns);
            assert!(b >= last, "bucket({ns}) = {b} < {last}");
            last = b;
            let mid = midpoint(b);
            assert!(
                (mid - ns as f64).abs() <= ns as f64 / 8.0 + 1.0,
                "{ns} ns lands in a bucket centred at {mid}"
            );
        }
    }

    #[test]
    fn quantiles_come_from_the_recorded_values() {
        let h = Histogram::default();
        for us in 1..=100u64 {
            h.record(Duration::from_micros(us));
        }
        assert_eq!(h.count(), 100);
        let p50 = h.quantile_us(0.5);
        let p99 = h.quantile_us(0.99);
        assert!((46.0..=54.0).contains(&p50), "p50 {p50}");
        assert!((92.0..=104.0).contains(&p99), "p99 {p99}");
        assert!((h.mean_us() - 50.5).abs() < 0.01);
        assert_eq!(Histogram::default().quantile_us(0.5), 0.0);
    }

    #[test]
    fn shards_add_up_in_the_summary() {
        let registry = StatsRegistry::default();
        assert_eq!(registry.summary(), None);
        let (a, b) = (registry.shard(), registry.shard());
        a.instantiate.record(Duration::from_micros(10));
        b.instantiate.record(Duration::from_micros(10));
        b.handle.record(Duration::from_micros(30));
        let line = registry.summary().unwrap();
        assert!(line.starts_with("2 instances; instantiate p50"), "{line}");
        assert!(line.contains("mean 10.0 µs; handle"), "{line}");
        assert!(line.contains("mean 30.0 µs; release"), "{line}");
        assert!(line.ends_with("; per serving thread 1 / 1"), "{line}");
        assert!(!line.contains("key-value"), "{line}");
        a.kv(1, KvOp::Get, Duration::from_micros(4));
        b.kv(1, KvOp::Get, Duration::from_micros(4));
        b.kv(1, KvOp::Set, Duration::from_micros(4));
        let line = registry.summary().unwrap();
        assert!(
            line.contains("; key-value sqlite 1.50 ops/request (get 2, set 1), p50 4.0 µs"),
            "{line}"
        );
        assert!(line.ends_with("; per serving thread 1 / 1"), "{line}");
    }
}
