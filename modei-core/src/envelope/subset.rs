//! Delegation tightening: a descendant may only narrow its immediate ancestor.
//!
//! Rules (Modei's `_subset`): every descendant permission must exist in the ancestor (the last
//! ancestor entry per key, though our parser already refuses repeated keys); every constraint
//! dimension the descendant states must exist in the ancestor (a dropped dimension cannot be
//! re-added lower down) and pass its dimension's rule. Dimensions the descendant omits are
//! inherited. Where the reference relies on Python's loose equality (`True == 1`) we compare JSON
//! types strictly; integers are compared exactly, as the Python reference does.

use super::model::{Envelope, Permission};
use crate::error::{Code, Error, Result};
use serde_json::Value;
use std::cmp::Ordering;

/// Dimensions that may only decrease.
const NUMERIC: &[&str] = &[
    "max_per_action_cost",
    "max_daily_cost",
    "max_total_cost",
    "rate_limit_per_minute",
    "rate_limit_per_hour",
];
/// Dimensions whose value is a set that may only shrink.
const SETS: &[&str] = &["allowed_domains", "allowed_paths", "allowed_models"];

/// Checks that `desc` only narrows `anc`. `label` names the pair in the error detail, e.g.
/// `chain[0]→chain[1]`.
pub fn check_subset(anc: &Envelope, desc: &Envelope, label: &str) -> Result<()> {
    check_permissions_subset(&anc.permissions, &desc.permissions, label)
}

/// [`check_subset`] on permission lists: the same rules for any wire form (the JWT form's
/// delegation uses it too).
pub fn check_permissions_subset(
    anc: &[Permission],
    desc: &[Permission],
    label: &str,
) -> Result<()> {
    for p in desc {
        let key = &p.permission_key;
        let Some(ap) = anc.iter().rev().find(|a| &a.permission_key == key) else {
            return Err(elevation(label, key, "permission not held by the ancestor"));
        };
        for (dim, dv) in p.constraints.iter() {
            let Some(av) = ap.constraints.get(dim) else {
                return Err(elevation(
                    label,
                    key,
                    &format!("{dim:?}: dimension not present in the ancestor"),
                ));
            };
            let ok = if NUMERIC.contains(&dim.as_str()) {
                match (dv, av) {
                    (Value::Number(d), Value::Number(a)) => num_cmp(d, a) != Ordering::Greater,
                    _ => false,
                }
            } else if SETS.contains(&dim.as_str()) {
                match (dv, av) {
                    (Value::Array(d), Value::Array(a)) => d
                        .iter()
                        .all(|x| is_scalar(x) && a.iter().any(|y| is_scalar(y) && json_eq(x, y))),
                    _ => false,
                }
            } else {
                json_eq(dv, av)
            };
            if !ok {
                return Err(elevation(
                    label,
                    key,
                    &format!(
                        "{dim:?}: descendant={} is not within ancestor={}",
                        short(dv),
                        short(av)
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn elevation(label: &str, key: &str, what: &str) -> Error {
    Error::new(
        Code::PermissionElevationInChain,
        format!("{label}: permission {key:?}: {what}"),
    )
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 80 {
        let cut: String = s.chars().take(77).collect();
        format!("{cut}...")
    } else {
        s
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

/// Orders two JSON numbers: exactly when both are integers, else as doubles.
pub fn num_cmp(a: &serde_json::Number, b: &serde_json::Number) -> Ordering {
    let exact = |n: &serde_json::Number| {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    };
    match (exact(a), exact(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => {
            let (x, y) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            x.partial_cmp(&y).unwrap_or(Ordering::Greater)
        }
    }
}

/// Structural JSON equality with strict types: `1 == 1.0`, but `1 != true` and `"1" != 1`;
/// object key order is irrelevant.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_cmp(x, y) == Ordering::Equal,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}
