//! The whole gate: a config (any JSON the config reader accepts; no file paths), a request,
//! and either the request's own passport or a passport self-issued from fuzzed permissions (so
//! the constraint paths are reached with a valid signature). Checks the pipeline never panics,
//! every decision serialises, an allow names the permission that granted it, and a dry run
//! decides like the real check without changing state.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modei_core::envelope::Permission;
use modei_core::gate::{Gate, GateConfig, GateRequest};
use modei_core::keys::SigningKey;
use modei_core::passport::JwtIssue;
use modei_core::time::{FixedClock, Timestamp};
use serde_json::{json, Value};
use std::sync::Arc;

const T: i64 = 1_772_409_600_000;

fuzz_target!(|data: &[u8]| {
    // Input: {"config": {...}, "request": {...}, "permissions": [{permission_key, constraints}]?}
    let Ok(Value::Object(doc)) = modei_core::json::parse_strict(data) else {
        return;
    };
    let mut cfg_v = doc.get("config").cloned().unwrap_or_else(|| json!({}));
    let Value::Object(m) = &mut cfg_v else {
        return;
    };
    m.insert("gate_id".into(), json!("gate_fuzz"));
    // Members that may name files: never read the file system from a fuzzer.
    for k in ["revocation", "catalogs"] {
        m.remove(k);
    }
    if matches!(m.get("trust_store"), Some(Value::String(_))) {
        m.remove("trust_store");
    }
    let Ok(mut cfg) = GateConfig::from_value(&cfg_v, "fuzz") else {
        return;
    };
    cfg.clock = Arc::new(FixedClock(Timestamp::from_unix_millis(T)));
    let Ok(gate) = Gate::new(cfg) else {
        return;
    };
    let mut req_v = doc.get("request").cloned().unwrap_or_else(|| json!({}));
    if let Some(Value::Array(perms)) = doc.get("permissions") {
        let perms: Vec<Permission> = perms
            .iter()
            .filter_map(|p| {
                Some(Permission {
                    permission_key: p.get("permission_key")?.as_str()?.to_owned(),
                    constraints: p.get("constraints")?.as_object()?.clone().into(),
                })
            })
            .collect();
        let agent = SigningKey::from_seed(&[1; 32]);
        let mut iss = JwtIssue::new(
            "pp_fuzz",
            "agent_fuzz",
            agent.public_key(),
            Timestamp::from_unix_millis(T - 3_600_000),
            Timestamp::from_unix_millis(T + 86_400_000),
        );
        iss.permissions = perms;
        if let (Ok(tok), Value::Object(r)) = (iss.self_issue(&agent), &mut req_v) {
            r.insert("passport".into(), json!(tok));
        }
    }
    let Ok(req) = serde_json::from_value::<GateRequest>(req_v) else {
        return;
    };
    let now = Timestamp::from_unix_millis(T);
    let dry = gate.dry_run_at(&req, now);
    let d = gate.check_at(&req, now);
    let v = d.to_value();
    assert!(v.get("decision").and_then(Value::as_str).is_some());
    if d.is_allowed() {
        assert!(d.permission.is_some() || d.passport_id.as_deref().is_some_and(|p| p.starts_with("anon:")));
    }
    // Same input, same state before it: the dry run decides as the check did (holds aside:
    // a full hold table turns a real hold into a block, which a dry run does not reach).
    if !matches!(dry.decision, modei_core::constraints::Decision::RequestHold) {
        assert_eq!(dry.decision, d.decision, "dry run {dry:?} vs check {d:?}");
    }
});
