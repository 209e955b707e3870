//! Gate-level: the gate vector suite with the Redis store decides exactly as with the memory
//! store, and two gate instances sharing one Redis share caps and the replay cache.
mod common;

use common::Server;
use modei_core::gate::{Gate, GateConfig, GateRequest};
use modei_core::state::{MemoryStateStore, StateStore};
use modei_core::time::{FixedClock, Timestamp};
use modei_redis::{RedisConfig, RedisStateStore};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

fn vectors() -> Vec<Value> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testvectors/gate/vectors.json");
    let doc: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
    doc["vectors"].as_array().unwrap().clone()
}

fn redis(server: &Server, ns: &str) -> Arc<RedisStateStore> {
    let mut cfg = RedisConfig::new(server.url(), ns);
    cfg.timeout = Duration::from_secs(2);
    Arc::new(RedisStateStore::new(cfg).unwrap())
}

fn gate(vec: &Value, state: Arc<dyn StateStore>) -> Gate {
    let now = Timestamp::parse_rfc3339(vec["now"].as_str().unwrap()).unwrap();
    let mut cfg = GateConfig::from_value(&vec["config"], vec["name"].as_str().unwrap())
        .unwrap()
        .with_state(state);
    cfg.clock = Arc::new(FixedClock(now));
    Gate::new(cfg).unwrap()
}

fn run(vec: &Value, state: Arc<dyn StateStore>) -> Value {
    let g = gate(vec, state);
    for p in vec["prior"].as_array().unwrap() {
        let t = Timestamp::parse_rfc3339(p["now"].as_str().unwrap()).unwrap();
        let r: GateRequest = serde_json::from_value(p["request"].clone()).unwrap();
        match p["dry_run"] == true {
            true => g.dry_run_at(&r, t),
            false => g.check_at(&r, t),
        };
    }
    let r: GateRequest = serde_json::from_value(vec["request"].clone()).unwrap();
    match vec["dry_run"] == true {
        true => g.dry_run(&r).to_value(),
        false => g.check(&r).to_value(),
    }
}

fn summary(d: &Value) -> Value {
    let evals: Vec<Value> = d["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| json!({"key": x["key"], "outcome": x["outcome"]}))
        .collect();
    json!({"decision": d["decision"], "reason": d["reason"], "evaluations": evals})
}

#[test]
fn gate_vectors_decide_the_same_with_redis() {
    let Some(server) = Server::start() else {
        return;
    };
    let vs = vectors();
    assert!(vs.len() >= 30);
    for vec in &vs {
        let name = vec["name"].as_str().unwrap();
        let mem = run(vec, Arc::new(MemoryStateStore::new()));
        let red = run(vec, redis(&server, name));
        let e = &vec["expect"];
        assert_eq!(
            summary(&red),
            json!({"decision": e["decision"], "reason": e["reason"], "evaluations": e["evaluations"]}),
            "{name}: {red}"
        );
        // Byte for byte the same decision, attestation included (same key, clock and chain).
        assert_eq!(mem, red, "{name}");
    }
}

#[test]
fn two_gates_share_a_cap_and_the_replay_cache() {
    let Some(server) = Server::start() else {
        return;
    };
    let vs = vectors();
    let find = |n: &str| vs.iter().find(|v| v["name"] == n).unwrap().clone();
    // 10,000 cents a day, 500 per request: 2 gates × 30 requests → exactly 20 allowed.
    let cap = find("cumulative_to_the_cap");
    let req: GateRequest = serde_json::from_value(cap["request"].clone()).unwrap();
    let allowed: usize = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let g = gate(&cap, redis(&server, "shared"));
                let req = req.clone();
                sc.spawn(move || {
                    (0..30)
                        .filter(|_| g.check(&req).to_value()["decision"] == "allow")
                        .count()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(allowed, 20);
    // A nonce used at gate A is refused at gate B.
    let l2 = find("l2_timestamp_edge");
    let req: GateRequest = serde_json::from_value(l2["request"].clone()).unwrap();
    let a = gate(&l2, redis(&server, "replay"));
    let b = gate(&l2, redis(&server, "replay"));
    assert_eq!(a.check(&req).to_value()["decision"], "allow");
    let d = b.check(&req).to_value();
    assert_eq!(d["decision"], "block", "{d}");
    // Redis gone: the gate fails closed with state_unavailable.
    drop(server);
    let c = gate(&cap, redis_at("redis://127.0.0.1:1/", "gone"));
    let d = c
        .check(&serde_json::from_value(cap["request"].clone()).unwrap())
        .to_value();
    assert_eq!(
        (d["decision"].as_str(), d["reason"].as_str()),
        (Some("block"), Some("state_unavailable")),
        "{d}"
    );
}

fn redis_at(url: &str, ns: &str) -> Arc<RedisStateStore> {
    Arc::new(RedisStateStore::new(RedisConfig::new(url, ns)).unwrap())
}

/// Reads a JSON Lines log segment.
fn read_segment(path: &std::path::Path) -> Vec<modei_core::attestation::Attestation> {
    std::fs::read(path)
        .unwrap()
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| modei_core::attestation::Attestation::from_json(l).unwrap())
        .collect()
}

/// Sorts merged segments by sequence and checks they form one contiguous, verifying chain.
fn assert_one_chain(mut all: Vec<modei_core::attestation::Attestation>, n: u64, gate_id: &str) {
    use modei_core::attestation::{verify_records, GateKeySet, LogVerifier};
    use modei_core::keys::SigningKey;
    all.sort_by_key(|r| r.body().sequence);
    let seqs: Vec<u64> = all.iter().map(|r| r.body().sequence).collect();
    assert_eq!(seqs, (1..=n).collect::<Vec<_>>(), "contiguous, none twice");
    let mut keys = GateKeySet::new();
    keys.insert(gate_id, "gk1", SigningKey::from_seed(&[7; 32]).public_key());
    let report = verify_records(&all, LogVerifier::new(&keys));
    assert!(report.first_error.is_none(), "{:?}", report.first_error);
    assert_eq!((report.records, report.passports), (n, 1));
}

#[test]
fn replica_processes_extend_one_attestation_chain() {
    let Some(server) = Server::start() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("modei-redis-chain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bin = env!("CARGO_BIN_EXE_modei-redis-hammer");
    let logs: Vec<PathBuf> = (0..2)
        .map(|i| dir.join(format!("replica{i}.jsonl")))
        .collect();
    for l in &logs {
        let _ = std::fs::remove_file(l);
    }
    let children: Vec<_> = logs
        .iter()
        .map(|l| {
            std::process::Command::new(bin)
                .args([
                    &server.url(),
                    "chain-procs",
                    "gate",
                    "60",
                    l.to_str().unwrap(),
                ])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), "allowed=60");
    }
    let segments: Vec<_> = logs.iter().map(|l| read_segment(l)).collect();
    assert!(segments.iter().all(|s| s.len() == 60));
    assert_one_chain(segments.concat(), 120, "chain-procs");
    // A segment reopens (records only move forward), and on its own it is not a chain.
    assert!(modei_core::attestation::FileLog::open_segment(
        &logs[0],
        modei_core::attestation::FsyncPolicy::Never
    )
    .is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A self-issued JWT passport (agent key from seed 9), valid from an hour before `t` to a day
/// after, granting one permission.
fn self_issued(passport_id: &str, permission: &str, constraints: Value, t: Timestamp) -> String {
    use modei_core::envelope::Permission;
    use modei_core::keys::SigningKey;
    use modei_core::passport::JwtIssue;
    let agent = SigningKey::from_seed(&[9; 32]);
    let mut iss = JwtIssue::new(
        passport_id,
        "agent",
        agent.public_key(),
        t.plus_millis(-3_600_000),
        t.plus_millis(86_400_000),
    );
    iss.permissions = vec![Permission {
        permission_key: permission.into(),
        constraints: constraints.as_object().cloned().unwrap_or_default().into(),
    }];
    iss.self_issue(&agent).unwrap()
}

/// A replica's in-memory log segment, readable after the run.
#[derive(Clone, Default)]
struct Segment(Arc<std::sync::Mutex<modei_core::attestation::MemoryLog>>);

impl modei_core::attestation::AttestationLog for Segment {
    fn head(&self, g: &str, p: &str) -> modei_core::attestation::ChainHead {
        self.0.lock().unwrap().head(g, p)
    }
    fn append(&mut self, r: &modei_core::attestation::Attestation) -> modei_core::Result<()> {
        self.0.lock().unwrap().append(r)
    }
    fn append_shared(
        &mut self,
        r: &modei_core::attestation::Attestation,
    ) -> modei_core::Result<()> {
        self.0.lock().unwrap().append_shared(r)
    }
    fn len(&self) -> u64 {
        self.0.lock().unwrap().len()
    }
    fn log_head(&self) -> modei_core::attestation::ChainHead {
        self.0.lock().unwrap().log_head()
    }
}

#[test]
fn replica_threads_extend_one_attestation_chain() {
    use modei_core::gate::Profile;
    use modei_core::keys::SigningKey;
    use modei_core::trust::TrustStore;
    let Some(server) = Server::start() else {
        return;
    };
    let t = Timestamp::from_unix_millis(1_767_225_600_000);
    let token = self_issued("pp_threads", "docs:*", json!({}), t);
    let req = GateRequest::new("docs:read").passport(&token);
    // Three gates in this process, each with its own Redis connection pool and log, two
    // threads each, all deciding for one passport at once.
    let logs: Vec<Segment> = (0..3).map(|_| Segment::default()).collect();
    let gates: Vec<Gate> = logs
        .iter()
        .map(|log| {
            let mut cfg = GateConfig::new("chain-threads", Profile::L1, TrustStore::new())
                .with_signing_key(SigningKey::from_seed(&[7; 32]), "gk1")
                .with_state(redis(&server, "chain-threads"))
                .with_log(Box::new(log.clone()));
            cfg.checkpoints = false;
            cfg.shared_chains = true;
            Gate::new(cfg).unwrap()
        })
        .collect();
    std::thread::scope(|s| {
        for g in &gates {
            for _ in 0..2 {
                let req = &req;
                s.spawn(move || {
                    for _ in 0..20 {
                        let d = g.check_at(req, t);
                        assert!(d.is_allowed(), "{d:?}");
                    }
                });
            }
        }
    });
    let all: Vec<_> = logs
        .iter()
        .flat_map(|l| l.0.lock().unwrap().records().to_vec())
        .collect();
    assert_one_chain(all, 120, "chain-threads");
}

#[test]
fn a_hold_made_at_one_replica_is_approved_at_another_once() {
    use modei_core::constraints::Decision;
    use modei_core::gate::{Approval, ApprovalDecision, Profile};
    use modei_core::keys::SigningKey;
    use modei_core::trust::TrustStore;
    let Some(server) = Server::start() else {
        return;
    };
    let t = Timestamp::from_unix_millis(1_767_225_600_000);
    let operator = SigningKey::from_seed(&[3; 32]);
    let gate = || {
        let cfg = GateConfig::new("holds-replicas", Profile::L1, TrustStore::new())
            .with_signing_key(SigningKey::from_seed(&[7; 32]), "gk1")
            .with_operator("op-1", operator.public_key())
            .with_state(redis(&server, "holds-replicas"));
        Gate::new(cfg).unwrap()
    };
    let (a, b) = (gate(), gate());
    let token = self_issued(
        "pp_holds",
        "pay:*",
        json!({"core:cost:approval_threshold": 5000, "core:cost:max_cumulative": 10000}),
        t,
    );
    let r = GateRequest::new("pay:send").passport(&token).cost(6000);
    let held = a.check_at(&r, t);
    assert_eq!(held.decision, Decision::RequestHold, "{held:?}");
    let mut again = r.clone();
    again.approval = Some(Approval::sign(
        held.hold_id.as_deref().unwrap(),
        &held.request_digest,
        ApprovalDecision::Approved,
        "op-1",
        t.unix_millis() + 60_000,
        &operator,
    ));
    let ok = b.check_at(&again, t.plus_millis(60_000));
    assert_eq!(ok.decision, Decision::Allow, "{ok:?}");
    let twice = a.check_at(&again, t.plus_millis(60_001));
    assert_eq!(twice.decision, Decision::Block, "{twice:?}");
    // The committed 6000 counts at both replicas: 4001 more is over the 10000 cap.
    let over = b.check_at(
        &GateRequest::new("pay:send").passport(&token).cost(4001),
        t.plus_millis(60_002),
    );
    assert_eq!(over.reason.as_deref(), Some("core:cost:max_cumulative"));
}

#[test]
fn an_attested_check_costs_one_round_trip_and_two_with_shared_chains() {
    use modei_core::gate::Profile;
    use modei_core::keys::SigningKey;
    use modei_core::trust::TrustStore;
    let Some(server) = Server::start() else {
        return;
    };
    let t = Timestamp::from_unix_millis(1_767_225_600_000);
    let constraints = json!({
        "core:rate:max_per_minute": 1000,
        "core:cost:max_cumulative": 1_000_000,
        "core:cost:max_per_action": 500,
        "core:scope:domain_allowlist": ["*.example.com"],
    });
    for (shared, per_check) in [(false, 1), (true, 2)] {
        let ns = format!("rt-{shared}");
        let store = redis(&server, &ns);
        let mut cfg = GateConfig::new(ns.as_str(), Profile::L1, TrustStore::new())
            .with_signing_key(SigningKey::from_seed(&[7; 32]), "gk1")
            .with_state(store.clone());
        cfg.checkpoints = false;
        cfg.shared_chains = shared;
        let g = Gate::new(cfg).unwrap();
        let token = self_issued(&format!("pp_{ns}"), "pay:*", constraints.clone(), t);
        let req = GateRequest::new("pay:send")
            .passport(&token)
            .target("https://api.example.com/pay")
            .cost(100);
        // The first use of a script loads it (EVALSHA answered NOSCRIPT, then EVAL).
        assert!(g.check_at(&req, t).is_allowed());
        assert!(!g.check_at(&req.clone().cost(501), t).is_allowed());
        let before = store.round_trips();
        for i in 1..=10 {
            let d = g.check_at(&req, t.plus_millis(i));
            assert!(d.is_allowed(), "{d:?}");
            assert!(d.attestation.is_some());
        }
        assert_eq!(
            store.round_trips() - before,
            10 * per_check,
            "shared_chains = {shared}"
        );
        // Blocked before any counted limit (the domain): no reservation, so no commit; a
        // shared chain still reads and moves its head.
        let before = store.round_trips();
        let off = req.clone().target("https://elsewhere.org/");
        let d = g.check_at(&off, t.plus_millis(11));
        assert_eq!(d.reason.as_deref(), Some("core:scope:domain_allowlist"));
        assert_eq!(store.round_trips() - before, if shared { 2 } else { 0 });
        // Blocked locally after a counted limit (cost above max_per_action): the counters are
        // read so the earliest limit decides; nothing is committed.
        let before = store.round_trips();
        let d = g.check_at(&req.clone().cost(501), t.plus_millis(12));
        assert_eq!(d.reason.as_deref(), Some("core:cost:max_per_action"));
        assert_eq!(store.round_trips() - before, if shared { 3 } else { 1 });
        // Refused by the store (the rate limit): the same as an allow.
        let mut tight = constraints.clone();
        tight["core:rate:max_per_minute"] = json!(11);
        let token = self_issued(&format!("pp_{ns}"), "pay:*", tight, t);
        let before = store.round_trips();
        let d = g.check_at(&req.clone().passport(&token), t.plus_millis(20));
        assert_eq!(
            d.reason.as_deref(),
            Some("core:rate:max_per_minute"),
            "{d:?}"
        );
        assert_eq!(
            store.round_trips() - before,
            per_check,
            "shared_chains = {shared}"
        );
    }
}
