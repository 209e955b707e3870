//! Approval: `core:approval:required`, `core:approval:for_actions`.

use super::{ActionPattern, Decision, EvalContext, Evaluation, Listed};
use serde_json::Value;
use std::sync::Arc;

pub(super) fn required(key: &Arc<str>) -> Evaluation {
    Evaluation::of(
        key,
        Decision::RequestHold,
        Value::Null,
        Value::Bool(true),
        "action requires human approval",
    )
}

pub(super) fn for_actions(
    key: &Arc<str>,
    list: &Listed<ActionPattern>,
    ctx: &EvalContext,
) -> Evaluation {
    let action = ctx.action;
    let limit = list.shown();
    match list.iter().find(|p| p.matches(action)) {
        Some(p) => Evaluation::of(
            key,
            Decision::RequestHold,
            Value::from(action),
            limit,
            format!(
                "action {:?} requires human approval (matches {:?})",
                action,
                p.to_string()
            ),
        ),
        None => Evaluation::of(
            key,
            Decision::Allow,
            Value::from(action),
            limit,
            "action does not require approval",
        ),
    }
}
