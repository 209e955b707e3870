//! Cost: `core:cost:max_per_action`, `core:cost:max_cumulative` (+ `core:cost:cumulative_window`),
//! `core:cost:approval_threshold`, and the v2 envelope's `max_per_action_cost`,
//! `max_daily_cost`, `max_total_cost`. All amounts are integer cents.

use super::{invalid, sentence, Decision, EvalContext, Evaluation, Part::*};
use crate::error::Result;
use crate::state::{SpendCap, StateSnapshot, Window};
use serde_json::Value;
use std::sync::Arc;

/// `hour`/`hourly`, `day`/`daily`, `month`/`monthly`, `total`/`lifetime`.
pub(super) fn parse_window(key: &str, v: &Value) -> Result<Window> {
    match v.as_str() {
        Some("hour") | Some("hourly") => Ok(Window::Hour),
        Some("day") | Some("daily") => Ok(Window::Day),
        Some("month") | Some("monthly") => Ok(Window::Month),
        Some("total") | Some("lifetime") => Ok(Window::Total),
        _ => Err(invalid(
            key,
            format!("must be \"hour\", \"day\", \"month\" or \"total\", got {v}"),
        )),
    }
}

fn negative(key: &Arc<str>, ctx: &EvalContext) -> Option<Evaluation> {
    (ctx.cost_cents < 0).then(|| {
        Evaluation::of(
            key,
            Decision::Block,
            Value::from(ctx.cost_cents),
            Value::from(0),
            format!("cost_cents is negative ({})", ctx.cost_cents),
        )
    })
}

pub(super) fn max_per_action(key: &Arc<str>, max: i64, ctx: &EvalContext) -> Evaluation {
    if let Some(e) = negative(key, ctx) {
        return e;
    }
    let c = ctx.cost_cents;
    if c > max {
        Evaluation::of(
            key,
            Decision::Block,
            Value::from(c),
            Value::from(max),
            format!("action cost {c} exceeds the per-action limit of {max} cents"),
        )
    } else {
        Evaluation::of(
            key,
            Decision::Allow,
            Value::from(c),
            Value::from(max),
            "within the per-action limit",
        )
    }
}

pub(super) fn cumulative(
    key: &Arc<str>,
    window: Window,
    cap: i64,
    ctx: &EvalContext,
    s: Option<&StateSnapshot>,
    caps: &mut Vec<SpendCap>,
) -> Evaluation {
    if let Some(e) = negative(key, ctx) {
        return e;
    }
    let Some(s) = s else {
        // Provisional: the commit checks it and its spend fills the evaluation in.
        caps.push(SpendCap {
            key: key.clone(),
            window,
            cap,
        });
        return Evaluation::provisional(key);
    };
    let current = match window {
        Window::Minute | Window::Hour => s.spend_hour,
        Window::Day => s.spend_day,
        Window::Month => s.spend_month,
        Window::Total => s.spend_total,
    };
    let c = ctx.cost_cents;
    if current.saturating_add(c) > cap {
        return Evaluation::of(
            key,
            Decision::Block,
            Value::from(current),
            Value::from(cap),
            format!(
                "{} spend {current} + {c} would exceed {cap} cents",
                window.as_str()
            ),
        );
    }
    caps.push(SpendCap {
        key: key.clone(),
        window,
        cap,
    });
    counted(key, window, cap, current, c)
}

/// The evaluation of `c` cents spent (or reserved) in a window that held `current` before.
pub(super) fn counted(
    key: &Arc<str>,
    window: Window,
    cap: i64,
    current: i64,
    c: i64,
) -> Evaluation {
    Evaluation::of(
        key,
        Decision::Allow,
        Value::from(current),
        Value::from(cap),
        sentence(&[
            Text(window.as_str()),
            Text(" spend "),
            Int(current),
            Text(" + "),
            Int(c),
            Text(" within "),
            Int(cap),
            Text(" cents"),
        ]),
    )
}

/// Hold when the cost is at or above the threshold.
pub(super) fn approval_threshold(key: &Arc<str>, t: i64, ctx: &EvalContext) -> Evaluation {
    let c = ctx.cost_cents;
    if c >= t {
        Evaluation::of(
            key,
            Decision::RequestHold,
            Value::from(c),
            Value::from(t),
            format!("action cost {c} is at or above the approval threshold of {t} cents"),
        )
    } else {
        Evaluation::of(
            key,
            Decision::Allow,
            Value::from(c),
            Value::from(t),
            "below the approval threshold",
        )
    }
}
