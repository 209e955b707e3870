//! Constraint maps: parse (any JSON object) + enforce against a `MemoryStateStore` for a
//! request derived from the same input (action, target, cost, metadata).
#![no_main]
use libfuzzer_sys::fuzz_target;
use modei_core::constraints::{EvalContext, Enforcer, PassportInfo};
use modei_core::state::MemoryStateStore;
use modei_core::target::Target;
use modei_core::time::Timestamp;
use serde_json::Value;
use std::sync::OnceLock;

fn store() -> &'static MemoryStateStore {
    static S: OnceLock<MemoryStateStore> = OnceLock::new();
    S.get_or_init(MemoryStateStore::new)
}

fuzz_target!(|data: &[u8]| {
    // Input: a JSON object {"constraints": {...}, "action": "...", "target": "...",
    // "cost": n, "metadata": {...}, "now_ms": n}; plain constraint maps work too.
    let Ok(Value::Object(doc)) = modei_core::json::parse_strict(data) else {
        return;
    };
    let map = match doc.get("constraints") {
        Some(Value::Object(m)) => m.clone(),
        _ => doc.clone(),
    };
    let e = Enforcer::new();
    let Ok(set) = e.parse(&map) else {
        return;
    };
    let now = doc
        .get("now_ms")
        .and_then(Value::as_i64)
        .map(Timestamp::from_unix_millis)
        .unwrap_or(Timestamp::from_unix_seconds(1_767_225_600));
    let mut ctx = EvalContext::new(
        doc.get("action").and_then(Value::as_str).unwrap_or("api:read"),
        now,
    );
    ctx.target = doc
        .get("target")
        .and_then(Value::as_str)
        .and_then(|t| Target::parse(t).ok());
    ctx.cost_cents = doc.get("cost").and_then(Value::as_i64).unwrap_or(0);
    if let Some(m @ Value::Object(_)) = doc.get("metadata") {
        ctx.metadata = std::borrow::Cow::Borrowed(m);
    }
    ctx.passport = PassportInfo {
        passport_id: "pp_fuzz".into(),
        agent_id: "agent".into(),
        issuer: "acme".into(),
        tier: "L1".into(),
        permission: "api:read".into(),
    };
    let _ = e.enforce(&set, &ctx, store(), false);
    let _ = e.enforce(&set, &ctx, store(), true);
});
