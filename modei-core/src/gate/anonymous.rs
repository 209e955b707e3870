//! Anonymous access: what a request without any passport may do.
//!
//! Applies only when NO passport is presented. A presented passport that fails verification
//! blocks with its own code and is never downgraded to anonymous.

use super::matching::PermPattern;
use crate::error::{Code, Error, Result};
use serde_json::{Map, Value};

/// The anonymous-access policy (Modei's fields and defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnonymousPolicy {
    /// Off by default.
    pub enabled: bool,
    /// Actions allowed without a passport (exact, `prefix:*`, `*`). Empty: none.
    pub allowed_actions: Vec<String>,
    /// Actions never allowed without a passport; wins over `allowed_actions`.
    pub blocked_actions: Vec<String>,
    /// Writes are refused (`core:data:read_only` semantics). Default true.
    pub read_only: bool,
    /// Per client id and minute. Default 5.
    pub rate_limit_per_minute: u64,
    /// Per client id and hour. Default 50.
    pub rate_limit_per_hour: u64,
    /// Returned with anonymous decisions.
    pub upgrade_message: Option<String>,
    /// Returned with anonymous decisions.
    pub upgrade_url: Option<String>,
}

/// The default upgrade message.
pub const DEFAULT_UPGRADE_MESSAGE: &str = "Get a passport for full access and higher rate limits";

impl Default for AnonymousPolicy {
    fn default() -> Self {
        AnonymousPolicy {
            enabled: false,
            allowed_actions: Vec::new(),
            blocked_actions: Vec::new(),
            read_only: true,
            rate_limit_per_minute: 5,
            rate_limit_per_hour: 50,
            upgrade_message: None,
            upgrade_url: None,
        }
    }
}

impl AnonymousPolicy {
    /// Reads `{enabled, allowed_actions, blocked_actions, read_only, rate_limit_per_minute,
    /// rate_limit_per_hour, upgrade_message, upgrade_url}` (all optional; unknown members are
    /// `invalid_argument`).
    pub fn from_value(v: &Value) -> Result<AnonymousPolicy> {
        let bad = |m: String| Error::new(Code::InvalidArgument, m);
        let o = v
            .as_object()
            .ok_or_else(|| bad("must be an object".into()))?;
        let mut p = AnonymousPolicy::default();
        for (k, x) in o {
            match k.as_str() {
                "enabled" => {
                    p.enabled = x
                        .as_bool()
                        .ok_or_else(|| bad(format!("{k} must be true or false")))?
                }
                "read_only" => {
                    p.read_only = x
                        .as_bool()
                        .ok_or_else(|| bad(format!("{k} must be true or false")))?
                }
                "allowed_actions" | "blocked_actions" => {
                    let arr = x
                        .as_array()
                        .ok_or_else(|| bad(format!("{k} must be a list of strings")))?;
                    if arr.len() > 1024 {
                        return Err(bad(format!("{k} has more than 1024 entries")));
                    }
                    let mut out = Vec::with_capacity(arr.len());
                    for a in arr {
                        let s = a
                            .as_str()
                            .ok_or_else(|| bad(format!("{k} must be a list of strings")))?;
                        PermPattern::parse(s).map_err(|m| bad(format!("{k}: {m}")))?;
                        out.push(s.to_owned());
                    }
                    if k == "allowed_actions" {
                        p.allowed_actions = out;
                    } else {
                        p.blocked_actions = out;
                    }
                }
                "rate_limit_per_minute" => {
                    p.rate_limit_per_minute = x
                        .as_u64()
                        .ok_or_else(|| bad(format!("{k} must be a non-negative integer")))?
                }
                "rate_limit_per_hour" => {
                    p.rate_limit_per_hour = x
                        .as_u64()
                        .ok_or_else(|| bad(format!("{k} must be a non-negative integer")))?
                }
                "upgrade_message" | "upgrade_url" => {
                    let s = match x {
                        Value::Null => None,
                        Value::String(s) if s.len() <= 2048 => Some(s.clone()),
                        _ => {
                            return Err(bad(format!("{k} must be a string of at most 2048 bytes")))
                        }
                    };
                    if k == "upgrade_message" {
                        p.upgrade_message = s;
                    } else {
                        p.upgrade_url = s;
                    }
                }
                other => return Err(bad(format!("unknown member {other:?}"))),
            }
        }
        Ok(p)
    }

    /// The constraints anonymous requests are evaluated with: the two rate limits and, when
    /// `read_only`, `core:data:read_only`.
    pub fn constraints(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(
            "core:rate:max_per_minute".into(),
            Value::from(self.rate_limit_per_minute),
        );
        m.insert(
            "core:rate:max_per_hour".into(),
            Value::from(self.rate_limit_per_hour),
        );
        if self.read_only {
            m.insert("core:data:read_only".into(), Value::Bool(true));
        }
        m
    }

    /// Whether `action` may be attempted anonymously: `Err(detail)` when blocked (blocked
    /// list first, then the allowed list; an empty allowed list allows nothing).
    pub fn admits(&self, action: &str) -> std::result::Result<(), String> {
        let hit = |list: &[String]| {
            list.iter().any(|p| {
                PermPattern::parse(p)
                    .map(|p| p.matches(action))
                    .unwrap_or(false)
            })
        };
        if hit(&self.blocked_actions) {
            return Err(format!("{action:?} is in the anonymous blocked_actions"));
        }
        if !hit(&self.allowed_actions) {
            return Err(format!(
                "{action:?} is not in the anonymous allowed_actions"
            ));
        }
        Ok(())
    }

    /// The upgrade message (the default when none is configured).
    pub fn message(&self) -> &str {
        self.upgrade_message
            .as_deref()
            .unwrap_or(DEFAULT_UPGRADE_MESSAGE)
    }
}
