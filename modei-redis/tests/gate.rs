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
        g.check_at(&r, t);
    }
    let r: GateRequest = serde_json::from_value(vec["request"].clone()).unwrap();
    g.check(&r).to_value()
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
