//! The 12 recorded terms (`core:pricing:*`, `core:sla:*`, `core:platform_fee:*`): validated and
//! carried into attestations and receipts, never enforced.

use super::invalid;
use crate::error::Result;
use serde_json::Value;

/// The term keys.
pub const TERM_KEYS: [&str; 12] = [
    "core:pricing:per_call_cents",
    "core:pricing:per_minute_cents",
    "core:pricing:subscription_cents",
    "core:pricing:model",
    "core:pricing:currency",
    "core:pricing:free_tier_calls",
    "core:sla:uptime_basis_points",
    "core:sla:response_time_ms",
    "core:sla:p99_response_ms",
    "core:sla:guaranteed_response_ms",
    "core:platform_fee:basis_points",
    "core:platform_fee:recipient",
];

pub(crate) fn is_term(key: &str) -> bool {
    TERM_KEYS.contains(&key)
}

pub(super) fn validate(key: &str, v: &Value) -> Result<()> {
    let int_max = |max: u64| -> Result<()> {
        match v.as_u64() {
            Some(n) if n <= max => Ok(()),
            _ => Err(invalid(
                key,
                format!("must be an integer 0..={max}, got {v}"),
            )),
        }
    };
    match key {
        "core:pricing:model" => match v.as_str() {
            Some("per_call" | "per_minute" | "subscription" | "usage") => Ok(()),
            _ => Err(invalid(
                key,
                "must be per_call, per_minute, subscription or usage",
            )),
        },
        "core:pricing:currency" => match v.as_str() {
            Some(s) if s.len() == 3 && s.bytes().all(|c| c.is_ascii_uppercase()) => Ok(()),
            _ => Err(invalid(key, "must be an ISO 4217 code like \"USD\"")),
        },
        "core:platform_fee:recipient" => match v.as_str() {
            Some(s) if !s.is_empty() && s.len() <= 256 => Ok(()),
            _ => Err(invalid(
                key,
                "must be a non-empty string of at most 256 bytes",
            )),
        },
        "core:sla:uptime_basis_points" | "core:platform_fee:basis_points" => int_max(10_000),
        _ => int_max(i64::MAX as u64),
    }
}
