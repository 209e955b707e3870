//! Full gate checks over a private local `redis-server` vs the in-memory store.
//!
//! `cargo bench -p modei-redis --bench gate` (needs `redis-server` on PATH). A self-issued JWT
//! passport with a rate limit, a daily spend cap, a per-action cap and a domain allowlist; every
//! check is allowed, committed and attested (warm passport cache, no checkpoints). Three gates:
//! the memory store, Redis, and Redis with `shared_chains` (attestation chain heads in Redis,
//! as replicas sharing chains need). Prints, per gate, the latency per check (median, p99),
//! what Redis adds to the memory store's figures, the round trips per check (counted by the
//! store), and checks per second with 1, 2 and 4 client threads (one passport per thread);
//! first, the latency of a bare PING through the same client, the floor under any round trip.
//! On a VM whose idle vCPUs sleep, that floor is mostly the wake-up of the other vCPU: run under
//! `taskset -c 1` (client and server on one core) to see the loopback cost without it.
//! `BENCH_SECS` sets the seconds per throughput run (default 3).
#[path = "../tests/common/mod.rs"]
mod common;

use modei_core::attestation::HeadsLog;
use modei_core::envelope::Permission;
use modei_core::gate::{Gate, GateConfig, GateRequest, Profile};
use modei_core::keys::SigningKey;
use modei_core::passport::JwtIssue;
use modei_core::state::{MemoryStateStore, StateStore};
use modei_core::time::Timestamp;
use modei_core::trust::TrustStore;
use modei_redis::{RedisConfig, RedisStateStore};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const T0: i64 = 1_772_409_600_000;

fn passport(id: &str) -> String {
    let agent = SigningKey::from_seed(&[9; 32]);
    let mut iss = JwtIssue::new(
        id,
        "agent",
        agent.public_key(),
        Timestamp::from_unix_millis(T0 - 3_600_000),
        Timestamp::from_unix_millis(T0 + 86_400_000),
    );
    let constraints = json!({
        "core:rate:max_per_minute": 1_000_000_000u64,
        "core:cost:max_cumulative": 1_000_000_000_000i64,
        "core:cost:max_per_action": 500,
        "core:scope:domain_allowlist": ["*.example.com"],
    });
    iss.permissions = vec![Permission {
        permission_key: "pay:*".into(),
        constraints: constraints.as_object().cloned().unwrap_or_default().into(),
    }];
    iss.self_issue(&agent).expect("passport")
}

fn gate(name: &str, state: Arc<dyn StateStore>, shared: bool) -> Gate {
    let mut cfg = GateConfig::new(name, Profile::L1, TrustStore::new())
        .with_signing_key(SigningKey::from_seed(&[7; 32]), "gk1")
        .with_state(state)
        .with_log(Box::new(HeadsLog::new()));
    cfg.checkpoints = false;
    cfg.shared_chains = shared;
    Gate::new(cfg).expect("gate")
}

fn request(token: &str) -> GateRequest {
    GateRequest::new("pay:send")
        .passport(token)
        .target("https://api.example.com/pay")
        .cost(100)
}

/// Latencies of `n` checks, sorted (each one allowed and attested, or the run stops).
fn latencies(g: &Gate, req: &GateRequest, n: usize) -> Vec<Duration> {
    let mut v = Vec::with_capacity(n);
    for i in 0..n {
        let now = Timestamp::from_unix_millis(T0 + i as i64);
        let t = Instant::now();
        let d = g.check_at(req, now);
        v.push(t.elapsed());
        assert!(d.is_allowed() && d.attestation.is_some(), "{d:?}");
    }
    v.sort();
    v
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn throughput(g: &Gate, tokens: &[String], threads: usize, secs: u64) -> f64 {
    let reqs: Vec<GateRequest> = tokens.iter().map(|t| request(t)).collect();
    common::per_second(threads, secs, |th, k| {
        let now = Timestamp::from_unix_millis(T0 + (k % 50_000) as i64);
        g.check_at(&reqs[th], now).is_allowed()
    })
}

fn main() {
    let Some(server) = common::Server::start() else {
        return;
    };
    let secs = common::bench_secs();
    let redis = |ns: &str| {
        let mut cfg = RedisConfig::new(server.url(), ns);
        cfg.timeout = Duration::from_secs(1);
        Arc::new(RedisStateStore::new(cfg).expect("store"))
    };
    let (plain, shared) = (redis("bench-plain"), redis("bench-shared"));
    // The floor under any Redis round trip on this machine: a bare PING through the same
    // client and connection pool.
    let mut pings: Vec<Duration> = (0..22_000)
        .map(|_| {
            let t = Instant::now();
            plain.ping().expect("ping");
            t.elapsed()
        })
        .skip(2_000)
        .collect();
    pings.sort();
    println!(
        "bare PING round trip through the same client: median {:.1} us, p99 {:.1} us",
        us(common::pct(&pings, 0.5)),
        us(common::pct(&pings, 0.99))
    );
    let gates = [
        (
            "memory",
            gate("bench-mem", Arc::new(MemoryStateStore::new()), false),
            None,
        ),
        (
            "redis",
            gate("bench-plain", plain.clone(), false),
            Some(plain),
        ),
        (
            "redis, shared_chains",
            gate("bench-shared", shared.clone(), true),
            Some(shared),
        ),
    ];
    let n = 20_000;
    println!("gate check latency, allowed + committed + attested ({n} checks each, warm):");
    let mut memory = (Duration::ZERO, Duration::ZERO);
    for (i, (name, g, store)) in gates.iter().enumerate() {
        let req = request(&passport(&format!("pp_lat_{i}")));
        latencies(g, &req, 2000); // warm: passport cache, connections, script cache
        let before = store.as_ref().map(|s| s.round_trips());
        let v = latencies(g, &req, n);
        let (med, p99) = (common::pct(&v, 0.5), common::pct(&v, 0.99));
        let trips = match (store, before) {
            (Some(s), Some(b)) => format!(
                ", {:.2} round trips per check",
                (s.round_trips() - b) as f64 / n as f64
            ),
            _ => String::new(),
        };
        if i == 0 {
            memory = (med, p99);
            println!(
                "  {name:<21} median {:>7.1} us  p99 {:>7.1} us",
                us(med),
                us(p99)
            );
        } else {
            println!(
                "  {name:<21} median {:>7.1} us  p99 {:>7.1} us  (added: median {:.1} us, p99 {:.1} us){trips}",
                us(med),
                us(p99),
                us(med) - us(memory.0),
                us(p99) - us(memory.1),
            );
        }
    }
    println!("gate checks per second ({secs} s per run, one passport per thread):");
    let tokens: Vec<String> = (0..4).map(|i| passport(&format!("pp_tp_{i}"))).collect();
    for (name, g, _) in &gates {
        let mut line = format!("  {name:<21}");
        for threads in [1usize, 2, 4] {
            line += &format!(
                " {threads}T {:>7.0}/s",
                throughput(g, &tokens, threads, secs)
            );
        }
        println!("{line}");
    }
}
