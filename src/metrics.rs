//! Prometheus metrics, served as OpenMetrics text at `/metrics` on the admin listener: requests by listener,
//! operation and status, latency histograms, ceremonies by kind, step and outcome, rate-limit refusals, the
//! database pool and the process's CPU time and memory. Labels come from fixed sets (operation ids, ceremony
//! kinds, error codes), never from request data, so the number of series stays bounded.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of a served request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    listener: &'static str,
    operation: &'static str,
    status: u16,
}

/// Labels of a latency observation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    listener: &'static str,
    operation: &'static str,
}

/// Labels of a ceremony step.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CeremonyLabels {
    kind: &'static str,
    step: &'static str,
    outcome: &'static str,
    code: &'static str,
}

/// Labels of a rate-limit refusal.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScopeLabels {
    scope: &'static str,
}

/// Labels of the pool gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

type HistogramFamily = Family<LatencyLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 250 µs to about 4 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

/// The process's metrics; cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
    ceremonies: Family<CeremonyLabels, Counter>,
    rate_limited: Family<ScopeLabels, Counter>,
    pool: Family<PoolLabels, Gauge>,
    pool_max: Gauge,
    cpu: Counter<f64, AtomicU64>,
    resident: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// An empty set of metrics.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let ceremonies = Family::<CeremonyLabels, Counter>::default();
        let rate_limited = Family::<ScopeLabels, Counter>::default();
        let pool = Family::<PoolLabels, Gauge>::default();
        let pool_max = Gauge::default();
        let cpu = Counter::<f64, AtomicU64>::default();
        let resident = Gauge::default();
        let start_time: Gauge = Gauge::default();
        registry.register(
            "tessera_http_requests",
            "HTTP requests served, by listener, operation id and status",
            requests.clone(),
        );
        registry.register(
            "tessera_http_request_duration_seconds",
            "Time from the request's arrival to its response, by listener and operation id",
            latency.clone(),
        );
        registry.register(
            "tessera_ceremonies",
            "Ceremony steps, by kind (registration, login, mfa_registration, mfa_login, transaction), step (init, final), outcome and error code",
            ceremonies.clone(),
        );
        registry.register(
            "tessera_rate_limited",
            "Requests refused with 429, by the limit that refused them (ip, tenant)",
            rate_limited.clone(),
        );
        registry.register(
            "tessera_db_pool_connections",
            "Open database connections, by state (idle, in_use)",
            pool.clone(),
        );
        registry.register(
            "tessera_db_pool_max_connections",
            "The database pool's size limit",
            pool_max.clone(),
        );
        registry.register(
            "process_cpu_seconds",
            "User and system CPU time of this process",
            cpu.clone(),
        );
        registry.register(
            "process_resident_memory_bytes",
            "Resident memory of this process",
            resident.clone(),
        );
        registry.register(
            "process_start_time_seconds",
            "When this process started, in seconds since the Unix epoch",
            start_time.clone(),
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        start_time.set(i64::try_from(now).unwrap_or_default());
        Metrics {
            inner: Arc::new(Inner {
                registry,
                requests,
                latency,
                ceremonies,
                rate_limited,
                pool,
                pool_max,
                cpu,
                resident,
            }),
        }
    }

    /// Counts a served request and its latency.
    pub fn request(
        &self,
        listener: &'static str,
        operation: &'static str,
        status: u16,
        seconds: f64,
    ) {
        self.inner
            .requests
            .get_or_create(&RequestLabels {
                listener,
                operation,
                status,
            })
            .inc();
        self.inner
            .latency
            .get_or_create(&LatencyLabels {
                listener,
                operation,
            })
            .observe(seconds);
    }

    /// Counts a ceremony step; `code` is the failure's error code (empty on success).
    pub fn ceremony(&self, kind: &'static str, step: &'static str, code: Option<&'static str>) {
        self.inner
            .ceremonies
            .get_or_create(&CeremonyLabels {
                kind,
                step,
                outcome: if code.is_some() {
                    "failed"
                } else {
                    "succeeded"
                },
                code: code.unwrap_or(""),
            })
            .inc();
    }

    /// Counts a request refused by the `scope` limit.
    pub fn rate_limited(&self, scope: &'static str) {
        self.inner
            .rate_limited
            .get_or_create(&ScopeLabels { scope })
            .inc();
    }

    /// The metrics as OpenMetrics text, with the pool's `(open, idle, max)` connections and the process's
    /// figures read now.
    pub fn render(&self, pool: (u32, u32, u32)) -> String {
        let inner = &self.inner;
        let (open, idle, max) = pool;
        inner
            .pool
            .get_or_create(&PoolLabels { state: "idle" })
            .set(i64::from(idle));
        inner
            .pool
            .get_or_create(&PoolLabels { state: "in_use" })
            .set(i64::from(open.saturating_sub(idle)));
        inner.pool_max.set(i64::from(max));
        if let Some((cpu, rss)) = process_usage() {
            let seen = inner.cpu.get();
            if cpu > seen {
                inner.cpu.inc_by(cpu - seen);
            }
            inner.resident.set(i64::try_from(rss).unwrap_or(i64::MAX));
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &inner.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// A process's CPU time and resident memory, from `/proc/{pid}/stat`.
pub struct ProcStat {
    /// User plus system CPU time, in clock ticks (1/100 s on the platforms Tessera targets).
    pub cpu_ticks: u64,
    /// Resident memory in pages (4 KiB on the platforms Tessera targets).
    pub rss_pages: u64,
}

/// Reads `/proc/{pid}/stat` (`pid` may be `self`); `None` where there is no such file.
pub fn proc_stat(pid: &str) -> Option<ProcStat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    Some(ProcStat {
        cpu_ticks: field(11)? + field(12)?,
        rss_pages: field(21)?,
    })
}

/// This process's `(CPU seconds, resident bytes)`.
fn process_usage() -> Option<(f64, u64)> {
    let stat = proc_stat("self")?;
    #[expect(clippy::cast_precision_loss, reason = "CPU ticks stay far below 2^52")]
    let cpu = stat.cpu_ticks as f64 / 100.0;
    Some((cpu, stat.rss_pages * 4096))
}
