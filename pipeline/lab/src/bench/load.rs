//! The HTTP load generator the ingest and Graph benchmarks share: concurrent senders posting a
//! rotating set of bodies for a while, each request timed.

use super::quantile;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One request body, with the headers it is sent with.
pub(crate) struct Body {
    /// The body.
    pub bytes: Vec<u8>,
    /// Extra headers, e.g. a signature.
    pub headers: Vec<(&'static str, String)>,
}

/// What the senders saw.
pub(crate) struct Load {
    /// Requests answered as expected.
    pub answered: u64,
    /// Requests answered otherwise, or not at all.
    pub failed: u64,
    /// Latencies of the answered requests, sorted.
    pub latencies: Vec<Duration>,
    /// How long the senders ran.
    pub elapsed: Duration,
}

impl Load {
    /// Answered requests per second.
    pub fn rate(&self) -> f64 {
        self.answered as f64 / self.elapsed.as_secs_f64()
    }

    /// The `q` latency quantile, milliseconds.
    pub fn latency_ms(&self, q: f64) -> f64 {
        quantile(&self.latencies, q).as_secs_f64() * 1000.0
    }
}

/// Posts `bodies` (in turn) to `url` from `concurrency` senders for `duration`; a request counts
/// as answered when `expected` accepts its status.
pub(crate) async fn hammer(
    url: &str,
    bodies: Vec<Body>,
    concurrency: usize,
    duration: Duration,
    expected: fn(reqwest::StatusCode) -> bool,
) -> Load {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("client");
    let bodies = Arc::new(bodies);
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|worker| {
            let (http, url, bodies) = (http.clone(), url.to_string(), bodies.clone());
            tokio::spawn(async move {
                let (mut ok, mut failed, mut latencies) = (0u64, 0u64, Vec::new());
                let mut i = worker;
                while started.elapsed() < duration {
                    let body = &bodies[i % bodies.len()];
                    i += 1;
                    let mut request = http.post(&url).body(body.bytes.clone());
                    for (name, value) in &body.headers {
                        request = request.header(*name, value);
                    }
                    let sent = Instant::now();
                    match request.send().await {
                        Ok(r) if expected(r.status()) => {
                            latencies.push(sent.elapsed());
                            ok += 1;
                        }
                        _ => failed += 1,
                    }
                }
                (ok, failed, latencies)
            })
        })
        .collect();
    let mut load = Load {
        answered: 0,
        failed: 0,
        latencies: Vec::new(),
        elapsed: Duration::ZERO,
    };
    for task in tasks {
        let (ok, failed, latencies) = task.await.expect("sender");
        load.answered += ok;
        load.failed += failed;
        load.latencies.extend(latencies);
    }
    load.elapsed = started.elapsed();
    load.latencies.sort();
    load
}
