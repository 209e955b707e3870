//! Stress: one gate, several threads, a fixed number of requests mixing valid passports with
//! hostile input (garbage, tampered signatures, expired tokens, `alg: none`, oversized and
//! deeply nested tokens). Checks: no panic; every spend cap exact; every decision attested,
//! with contiguous sequences per chain and signatures that verify; memory flat after warm-up.
//! Prints the peak RSS. Deterministic inputs; the thread interleaving is the only randomness.

use modei_core::attestation::{Attestation, AttestationLog, ChainHead, GateKeySet};
use modei_core::envelope::Permission;
use modei_core::gate::{Gate, GateConfig, GateRequest, Profile};
use modei_core::keys::SigningKey;
use modei_core::passport::JwtIssue;
use modei_core::time::Timestamp;
use modei_core::trust::TrustStore;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const T0: i64 = 1_772_409_600_000;
const THREADS: usize = 4;
const PER_THREAD: usize = 1_500;
const PASSPORTS: usize = 4;
/// Each valid passport may spend this much a day, at 100 cents a request: 50 allows each.
const CAP: i64 = 5_000;

/// Keeps chain heads only (memory stays flat however many records), checks that each record
/// extends its chain (contiguous sequence, `prev_hash` = the head), verifies each signature,
/// and counts records per chain.
struct CheckingLog {
    heads: HashMap<String, ChainHead>,
    per_chain: HashMap<String, u64>,
    keys: GateKeySet,
    problems: Arc<Mutex<Vec<String>>>,
    n: u64,
}

impl AttestationLog for CheckingLog {
    fn head(&self, gate_id: &str, passport_id: &str) -> ChainHead {
        self.heads
            .get(passport_id)
            .copied()
            .unwrap_or_else(|| ChainHead::genesis(gate_id, passport_id))
    }
    fn append(&mut self, r: &Attestation) -> modei_core::Result<()> {
        let b = r.body();
        let head = self.head(&b.gate_id, &b.passport_id);
        if b.sequence != head.sequence + 1 || b.prev_hash != head.hash {
            self.problems.lock().unwrap().push(format!(
                "{}: sequence {} after {}",
                b.passport_id, b.sequence, head.sequence
            ));
        }
        if let Err(e) = r.verify(&self.keys) {
            self.problems
                .lock()
                .unwrap()
                .push(format!("signature: {e}"));
        }
        self.heads.insert(b.passport_id.clone(), r.head());
        *self.per_chain.entry(b.passport_id.clone()).or_default() += 1;
        self.n += 1;
        Ok(())
    }
    fn len(&self) -> u64 {
        self.n
    }
    fn log_head(&self) -> ChainHead {
        ChainHead::genesis("", "")
    }
}

fn rss_kb(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn token(i: usize, expires_at: i64) -> String {
    let agent = SigningKey::from_seed(&[40 + i as u8; 32]);
    let mut iss = JwtIssue::new(
        format!("pp_stress_{i}"),
        "agent",
        agent.public_key(),
        Timestamp::from_unix_millis(T0 - 7_200_000),
        Timestamp::from_unix_millis(expires_at),
    );
    iss.permissions = vec![Permission {
        permission_key: "pay:*".into(),
        constraints:
            json!({"core:cost:max_cumulative": CAP, "core:rate:max_per_minute": 1_000_000})
                .as_object()
                .cloned()
                .unwrap()
                .into(),
    }];
    iss.self_issue(&agent).unwrap()
}

/// The hostile inputs, by kind.
fn hostile() -> Vec<String> {
    let valid = token(0, T0 + 86_400_000);
    let mut tampered = valid.clone().into_bytes();
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
    let (_, rest) = valid.split_once('.').unwrap();
    let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{rest}");
    vec![
        "not a passport".into(),
        String::from_utf8(tampered).unwrap(),
        token(1, T0 - 3_600_000), // expired an hour ago
        none,
        "x".repeat(300_000),
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        "{\"passport\":{},\"signature\":\"\"}".into(),
        String::new(),
    ]
}

#[test]
fn many_threads_mixed_input_caps_exact_every_decision_attested() {
    let gate_key = SigningKey::from_seed(&[3; 32]);
    let mut keys = GateKeySet::new();
    keys.insert("gate_stress", "gk", gate_key.public_key());
    let problems = Arc::new(Mutex::new(Vec::new()));
    let mut cfg = GateConfig::new("gate_stress", Profile::L1, TrustStore::new())
        .with_signing_key(gate_key, "gk")
        .with_log(Box::new(CheckingLog {
            heads: HashMap::new(),
            per_chain: HashMap::new(),
            keys,
            problems: problems.clone(),
            n: 0,
        }));
    cfg.checkpoints = false;
    let gate = Gate::new(cfg).unwrap();
    let valid: Vec<String> = (0..PASSPORTS).map(|i| token(i, T0 + 86_400_000)).collect();
    let bad = hostile();
    let now = Timestamp::from_unix_millis(T0);

    let run = |rounds: std::ops::Range<usize>| -> (Vec<u64>, u64) {
        std::thread::scope(|s| {
            let hs: Vec<_> = (0..THREADS)
                .map(|t| {
                    let (gate, valid, bad, rounds) = (&gate, &valid, &bad, rounds.clone());
                    s.spawn(move || {
                        let mut allowed = vec![0u64; PASSPORTS];
                        let mut decisions = 0u64;
                        for i in rounds {
                            let k = (i * THREADS + t) % (PASSPORTS + bad.len());
                            let req = if k < PASSPORTS {
                                GateRequest::new("pay:send").passport(&valid[k]).cost(100)
                            } else {
                                GateRequest::new("pay:send").passport(&bad[k - PASSPORTS])
                            };
                            let d = gate.check_at(&req, now);
                            assert!(d.attestation.is_some(), "unattested: {d:?}");
                            if k < PASSPORTS && d.is_allowed() {
                                allowed[k] += 1;
                            }
                            assert!(k < PASSPORTS || !d.is_allowed(), "hostile allowed: {d:?}");
                            decisions += 1;
                        }
                        (allowed, decisions)
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).fold(
                (vec![0u64; PASSPORTS], 0),
                |(mut a, n), (b, m)| {
                    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                    (a, n + m)
                },
            )
        })
    };

    // Warm-up: a quarter of the requests; then measure memory, run the rest, measure again.
    let warm = PER_THREAD / 4;
    let (a1, n1) = run(0..warm);
    let rss_warm = rss_kb("VmRSS:").unwrap_or(0);
    let (a2, n2) = run(warm..PER_THREAD);
    let rss_end = rss_kb("VmRSS:").unwrap_or(0);
    let peak = rss_kb("VmHWM:").unwrap_or(0);
    println!(
        "stress: {} decisions, RSS after warm-up {rss_warm} kB, at end {rss_end} kB, peak {peak} kB",
        n1 + n2
    );

    let problems = problems.lock().unwrap();
    assert!(
        problems.is_empty(),
        "{:?}",
        &problems[..problems.len().min(5)]
    );
    assert_eq!(n1 + n2, (THREADS * PER_THREAD) as u64);
    // Each valid passport was presented more often than its cap allows: exactly CAP/100 pass.
    let allowed: Vec<u64> = a1.iter().zip(&a2).map(|(x, y)| x + y).collect();
    assert_eq!(allowed, vec![(CAP / 100) as u64; PASSPORTS]);
    // Every decision was attested exactly once (the log saw as many records as decisions).
    assert_eq!(gate.with_log(|l| l.len()), Some(n1 + n2));
    // Memory flat after warm-up: the rest of the run (three times as many requests) may not
    // grow the process by more than 8 MB.
    if rss_warm > 0 {
        assert!(
            rss_end <= rss_warm + 8 * 1024,
            "RSS grew from {rss_warm} kB to {rss_end} kB after warm-up"
        );
    }
}
