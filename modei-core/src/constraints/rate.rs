//! Rate: `core:rate:max_per_minute|max_per_hour|max_per_day` (and the v2 envelope's
//! `rate_limit_per_minute|rate_limit_per_hour`). Counted per passport and permission in fixed
//! UTC windows; the snapshot check here is advisory, the atomic commit decides.

use super::{sentence, Decision, Evaluation, Part::*};
use crate::state::{RateCheck, StateSnapshot, Window};
use serde_json::Value;
use std::sync::Arc;

pub(super) fn check(
    key: &Arc<str>,
    window: Window,
    limit: u64,
    s: Option<&StateSnapshot>,
    rates: &mut Vec<RateCheck>,
) -> Evaluation {
    let Some(s) = s else {
        // Provisional: the commit checks it and its counts fill the evaluation in.
        rates.push(RateCheck {
            key: key.clone(),
            window,
            limit,
        });
        return Evaluation::provisional(key);
    };
    let current = match window {
        Window::Minute => s.count_minute,
        Window::Hour => s.count_hour,
        _ => s.count_day,
    };
    if current.saturating_add(1) > limit {
        return Evaluation::of(
            key,
            Decision::Block,
            Value::from(current),
            Value::from(limit),
            format!(
                "{current} actions this {} already; the limit is {limit}",
                window.as_str()
            ),
        );
    }
    rates.push(RateCheck {
        key: key.clone(),
        window,
        limit,
    });
    counted(key, window, limit, current)
}

/// The evaluation of an action counted in its window, `current` actions there before it.
pub(super) fn counted(key: &Arc<str>, window: Window, limit: u64, current: u64) -> Evaluation {
    Evaluation::of(
        key,
        Decision::Allow,
        Value::from(current),
        Value::from(limit),
        sentence(&[
            Count(current.saturating_add(1)),
            Text(" of "),
            Count(limit),
            Text(" this "),
            Text(window.as_str()),
        ]),
    )
}
