//! CEL through the constraint engine: the input is the expression text; it is compiled as a
//! `core:cel:rules` rule (prescan + compile) and evaluated against a request.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modei_core::constraints::{EvalContext, Enforcer, PassportInfo};
use modei_core::state::MemoryStateStore;
use modei_core::target::Target;
use modei_core::time::Timestamp;
use serde_json::json;
use std::sync::OnceLock;

fn enforcer() -> &'static Enforcer {
    static E: OnceLock<Enforcer> = OnceLock::new();
    E.get_or_init(Enforcer::new)
}

fuzz_target!(|data: &[u8]| {
    let Ok(expr) = std::str::from_utf8(data) else {
        return;
    };
    let _ = modei_core::cel_rules::prescan(expr);
    let map = json!({"core:cel:rules": [{"expr": expr, "on_false": "block"}]});
    let e = enforcer();
    let Ok(set) = e.parse(map.as_object().unwrap()) else {
        return;
    };
    let mut ctx = EvalContext::new("flights:book", Timestamp::from_unix_seconds(1_767_225_600));
    ctx.target = Target::parse("https://api.flights.example/v1/book?x=1").ok();
    ctx.cost_cents = 4500;
    ctx.metadata = std::borrow::Cow::Owned(json!({"method": "POST", "model": "m-1", "tags": ["a", "b"], "n": 3, "nested": {"k": [1, 2, {"z": "y"}]}}));
    ctx.passport = PassportInfo {
        passport_id: "pp_fuzz".into(),
        agent_id: "agent".into(),
        issuer: "acme".into(),
        tier: "L1".into(),
        permission: "flights:book".into(),
    };
    let store = MemoryStateStore::new();
    let _ = e.enforce(&set, &ctx, &store, false);
});
