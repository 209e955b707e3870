//! Merging a catalog's constraints with a passport's: the passport may only tighten.
//!
//! - limits (rates, per-action cost, cumulative caps, approval threshold): the smaller value;
//! - `core:cost:cumulative_window`: the longer window (a cap over a longer window is tighter);
//! - switches (`read_only`, `no_pii_export`, `approval:required`): on if either is on;
//!   `fail_closed`: the shorter heartbeat age; `anomaly_suspend`: the smaller multiplier and
//!   minimum;
//! - allowlists (actions, domains, paths, models): the intersection (an entry survives if the
//!   other side's patterns cover it); blocklists, `approval:for_actions`, blackout windows
//!   and CEL rules: the union (concatenation);
//! - `operating_hours`: equal values are kept, different ones become `{"all_of": [catalog,
//!   passport]}` (inside both);
//! - recorded terms: the catalog's value always; a passport-only term is dropped (terms are
//!   gate-authoritative);
//! - other keys: equal values are kept; otherwise the catalog's wins; keys on one side only are
//!   copied.
//!
//! Both sides are validated as they are merged (`constraint_invalid` naming the key).

use super::scope::{parse_actions, parse_domains, parse_paths};
use super::{as_cents, as_count, as_str_list, cost, invalid, safety, Kind, MAX_LIST};
use crate::error::Result;
use serde_json::{json, Map, Value};

fn union(a: &Value, b: &Value, key: &str) -> Result<Value> {
    let (Some(x), Some(y)) = (a.as_array(), b.as_array()) else {
        return Err(invalid(key, "must be a list"));
    };
    let mut out: Vec<Value> = x.clone();
    for v in y {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    if out.len() > MAX_LIST {
        return Err(invalid(
            key,
            format!("merged list has more than {MAX_LIST} entries"),
        ));
    }
    Ok(Value::Array(out))
}

fn intersect<P>(
    key: &str,
    a: &Value,
    b: &Value,
    parse: fn(&str, &Value) -> Result<Vec<P>>,
    covered: fn(&P, &P) -> bool,
) -> Result<Value> {
    let (pa, pb) = (parse(key, a)?, parse(key, b)?);
    let (ra, rb) = (
        as_str_list(key, a, MAX_LIST)?,
        as_str_list(key, b, MAX_LIST)?,
    );
    let mut out: Vec<String> = Vec::new();
    for (i, p) in pa.iter().enumerate() {
        if pb.iter().any(|q| covered(p, q)) && !out.contains(&ra[i]) {
            out.push(ra[i].clone());
        }
    }
    for (i, q) in pb.iter().enumerate() {
        if pa.iter().any(|p| covered(q, p)) && !out.contains(&rb[i]) {
            out.push(rb[i].clone());
        }
    }
    Ok(Value::from(out))
}

fn window_rank(key: &str, v: Option<&Value>) -> Result<(u8, &'static str)> {
    use crate::state::Window::*;
    Ok(match v {
        None => (2, "day"),
        Some(v) => match cost::parse_window(key, v)? {
            Minute | Hour => (1, "hour"),
            Day => (2, "day"),
            Month => (3, "month"),
            Total => (4, "total"),
        },
    })
}

fn merge_key(key: &str, c: &Value, p: &Value) -> Result<Value> {
    Ok(match key {
        "core:rate:max_per_minute"
        | "core:rate:max_per_hour"
        | "core:rate:max_per_day"
        | "rate_limit_per_minute"
        | "rate_limit_per_hour" => Value::from(as_count(key, c)?.min(as_count(key, p)?)),
        "core:cost:max_per_action"
        | "core:cost:max_cumulative"
        | "core:cost:approval_threshold"
        | "max_per_action_cost"
        | "max_daily_cost"
        | "max_total_cost" => Value::from(as_cents(key, c)?.min(as_cents(key, p)?)),
        "core:data:read_only" | "core:data:no_pii_export" | "core:approval:required" => {
            Value::Bool(super::as_bool(key, c)? || super::as_bool(key, p)?)
        }
        "core:safety:fail_closed" => {
            let age = |v: &Value| -> Result<Option<i64>> {
                Ok(match safety::parse_fail_closed(key, v)? {
                    Some(Kind::FailClosed { max_age_ms }) => Some(max_age_ms),
                    _ => None,
                })
            };
            match (age(c)?, age(p)?) {
                (None, None) => Value::Bool(false),
                (Some(a), None) | (None, Some(a)) => json!({ "max_age_seconds": a / 1000 }),
                (Some(a), Some(b)) => json!({ "max_age_seconds": a.min(b) / 1000 }),
            }
        }
        "core:safety:anomaly_suspend" => {
            let get = |v: &Value| -> Result<Option<(u64, u64)>> {
                Ok(match safety::parse_anomaly(key, v)? {
                    Some(Kind::AnomalySuspend {
                        multiplier,
                        min_events,
                    }) => Some((multiplier, min_events)),
                    _ => None,
                })
            };
            match (get(c)?, get(p)?) {
                (None, None) => Value::Bool(false),
                (Some((m, e)), None) | (None, Some((m, e))) => {
                    json!({ "multiplier": m, "min_events": e })
                }
                (Some((m1, e1)), Some((m2, e2))) => {
                    json!({ "multiplier": m1.min(m2), "min_events": e1.min(e2) })
                }
            }
        }
        "core:scope:action_allowlist" => {
            intersect(key, c, p, parse_actions, |a, b| a.covered_by(b))?
        }
        "core:scope:domain_allowlist" | "allowed_domains" => {
            intersect(key, c, p, parse_domains, |a, b| a.covered_by(b))?
        }
        "allowed_paths" => intersect(key, c, p, parse_paths, |a, b| a.covered_by(b))?,
        "allowed_models" => {
            let (a, b) = (
                as_str_list(key, c, MAX_LIST)?,
                as_str_list(key, p, MAX_LIST)?,
            );
            Value::from(
                a.into_iter()
                    .filter(|m| b.iter().any(|n| n.trim().eq_ignore_ascii_case(m.trim())))
                    .collect::<Vec<_>>(),
            )
        }
        "core:scope:action_blocklist"
        | "core:scope:domain_blocklist"
        | "core:approval:for_actions"
        | "core:time:blackout_windows"
        | "core:cel:rules" => union(c, p, key)?,
        "core:time:operating_hours" | "operating_hours" => {
            if c == p {
                c.clone()
            } else {
                json!({ "all_of": [c, p] })
            }
        }
        k if super::terms::is_term(k) => c.clone(),
        _ => c.clone(),
    })
}

/// Merges a catalog permission's constraints with a passport's (see the module docs).
pub fn merge(
    catalog: &Map<String, Value>,
    passport: &Map<String, Value>,
) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for (k, c) in catalog {
        let v = match passport.get(k) {
            Some(p) if k != "core:cost:cumulative_window" => merge_key(k, c, p)?,
            _ => c.clone(),
        };
        out.insert(k.clone(), v);
    }
    for (k, p) in passport {
        if catalog.contains_key(k) || super::terms::is_term(k) {
            continue;
        }
        out.insert(k.clone(), p.clone());
    }
    let wk = "core:cost:cumulative_window";
    if catalog.contains_key(wk) || passport.contains_key(wk) {
        let a = window_rank(wk, catalog.get(wk))?;
        let b = window_rank(wk, passport.get(wk))?;
        out.insert(wk.to_string(), Value::from(a.max(b).1));
    }
    Ok(out)
}
