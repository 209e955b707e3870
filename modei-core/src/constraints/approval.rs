//! Approval: `core:approval:required`, `core:approval:for_actions`.

use super::{ActionPattern, Decision, EvalContext, Evaluation};
use serde_json::Value;

pub(super) fn required(key: &str) -> Evaluation {
    Evaluation::new(
        key,
        Decision::RequestHold,
        Value::Null,
        Value::Bool(true),
        "action requires human approval",
    )
}

pub(super) fn for_actions(key: &str, list: &[ActionPattern], ctx: &EvalContext) -> Evaluation {
    let limit = Value::from(list.iter().map(|p| p.to_string()).collect::<Vec<_>>());
    match list.iter().find(|p| p.matches(&ctx.action)) {
        Some(p) => Evaluation::new(
            key,
            Decision::RequestHold,
            Value::from(ctx.action.clone()),
            limit,
            format!(
                "action {:?} requires human approval (matches {:?})",
                ctx.action,
                p.to_string()
            ),
        ),
        None => Evaluation::new(
            key,
            Decision::Allow,
            Value::from(ctx.action.clone()),
            limit,
            "action does not require approval",
        ),
    }
}
