//! Safety: `core:safety:fail_closed`, `core:safety:anomaly_suspend`.

use super::{invalid, Decision, EvalContext, Evaluation, Kind};
use crate::error::Result;
use crate::state::StateSnapshot;
use serde_json::{json, Value};
use std::sync::Arc;

/// Modei: a heartbeat older than 2 minutes is stale.
pub(crate) const DEFAULT_MAX_AGE_MS: i64 = 120_000;
/// Modei: hold when the 5-minute rate exceeds 3× the 30-minute baseline.
pub(crate) const DEFAULT_MULTIPLIER: u64 = 3;
/// No hold until the 5-minute window holds at least this many actions (this one included), so
/// a new agent's first actions are not "anomalous" against an empty baseline.
pub(crate) const DEFAULT_MIN_EVENTS: u64 = 10;

/// `true`, `false`, or `{"max_age_seconds": N}` (1..=86400).
pub(super) fn parse_fail_closed(key: &str, v: &Value) -> Result<Option<Kind>> {
    match v {
        Value::Bool(false) => Ok(None),
        Value::Bool(true) => Ok(Some(Kind::FailClosed {
            max_age_ms: DEFAULT_MAX_AGE_MS,
        })),
        Value::Object(o) => {
            for k in o.keys() {
                if k != "max_age_seconds" {
                    return Err(invalid(key, format!("unknown field {k:?}")));
                }
            }
            let s = match o.get("max_age_seconds") {
                Some(s) => s
                    .as_u64()
                    .filter(|s| (1..=86_400).contains(s))
                    .ok_or_else(|| invalid(key, "max_age_seconds must be an integer 1..=86400"))?,
                None => DEFAULT_MAX_AGE_MS as u64 / 1000,
            };
            Ok(Some(Kind::FailClosed {
                max_age_ms: s as i64 * 1000,
            }))
        }
        _ => Err(invalid(
            key,
            "must be true, false or {\"max_age_seconds\": N}",
        )),
    }
}

/// `true`, `false`, or `{"multiplier": N, "min_events": N}`.
pub(super) fn parse_anomaly(key: &str, v: &Value) -> Result<Option<Kind>> {
    match v {
        Value::Bool(false) => Ok(None),
        Value::Bool(true) => Ok(Some(Kind::AnomalySuspend {
            multiplier: DEFAULT_MULTIPLIER,
            min_events: DEFAULT_MIN_EVENTS,
        })),
        Value::Object(o) => {
            for k in o.keys() {
                if k != "multiplier" && k != "min_events" {
                    return Err(invalid(key, format!("unknown field {k:?}")));
                }
            }
            let get = |name: &str, default: u64, max: u64| -> Result<u64> {
                match o.get(name) {
                    None => Ok(default),
                    Some(x) => x.as_u64().filter(|n| (1..=max).contains(n)).ok_or_else(|| {
                        invalid(key, format!("{name} must be an integer 1..={max}"))
                    }),
                }
            };
            Ok(Some(Kind::AnomalySuspend {
                multiplier: get("multiplier", DEFAULT_MULTIPLIER, 1000)?,
                min_events: get("min_events", DEFAULT_MIN_EVENTS, 1_000_000)?,
            }))
        }
        _ => Err(invalid(
            key,
            "must be true, false or {\"multiplier\": N, \"min_events\": N}",
        )),
    }
}

pub(super) fn fail_closed(key: &Arc<str>, max_age_ms: i64, ctx: &EvalContext) -> Evaluation {
    let limit = json!({ "max_age_ms": max_age_ms });
    match ctx.heartbeat {
        None => Evaluation::of(
            key,
            Decision::Block,
            Value::Null,
            limit,
            "no supervision heartbeat was supplied; failing closed",
        ),
        Some(hb) => {
            // A heartbeat from the future (clock skew) counts as fresh.
            let age = ctx
                .now
                .unix_millis()
                .saturating_sub(hb.unix_millis())
                .max(0);
            if age > max_age_ms {
                Evaluation::of(
                    key,
                    Decision::Block,
                    json!({ "age_ms": age }),
                    limit,
                    format!("supervision heartbeat is {age} ms old, more than {max_age_ms} ms; failing closed"),
                )
            } else {
                Evaluation::of(
                    key,
                    Decision::Allow,
                    json!({ "age_ms": age }),
                    limit,
                    "heartbeat is fresh",
                )
            }
        }
    }
}

/// Hold when `recent * 6 > multiplier * baseline` and `recent >= min_events`, where `recent`
/// is the subject's actions in the last 5 minutes including this one and `baseline` those in
/// the 30 minutes before (so `baseline / 6` is the baseline's rate per 5 minutes).
pub(super) fn anomaly(
    key: &Arc<str>,
    multiplier: u64,
    min_events: u64,
    s: &StateSnapshot,
) -> Evaluation {
    let recent = s.recent_5m.saturating_add(1);
    let base = s.baseline_30m;
    let observed = json!({ "recent_5m": recent, "baseline_30m": base });
    let limit = json!({ "multiplier": multiplier, "min_events": min_events });
    if recent >= min_events && recent.saturating_mul(6) > multiplier.saturating_mul(base) {
        Evaluation::of(
            key,
            Decision::RequestHold,
            observed,
            limit,
            format!(
                "{recent} actions in 5 minutes exceed {multiplier}x the 30-minute baseline of {base} (per 5 minutes: {base}/6)"
            ),
        )
    } else {
        Evaluation::of(
            key,
            Decision::Allow,
            observed,
            limit,
            "action rate within baseline",
        )
    }
}
