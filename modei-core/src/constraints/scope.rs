//! Scope: action and domain allow/block lists, and the v2 envelope's `allowed_paths` and
//! `allowed_models`.
//!
//! Actions are compared after trimming and ASCII-lowercasing (so `Email:Send` cannot slip past
//! a blocklist entry `email:send`). Action patterns: `*` (any), `prefix:*` (any action starting
//! with `prefix:`, not `prefix` itself), or an exact action. Other uses of `*` are refused.

use super::{as_str_list, invalid, Decision, EvalContext, Evaluation, Listed, MAX_LIST};
use crate::error::Result;
use crate::target::{canonical_path, DomainPattern, TargetKind};
use serde_json::Value;
use std::fmt;
use std::sync::Arc;

/// An action pattern in an allow, block or approval list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ActionPattern {
    /// `*`.
    Any,
    /// `prefix:*` (holds `prefix:`).
    Prefix(String),
    /// An exact action.
    Exact(String),
}

fn norm_action(a: &str) -> String {
    a.trim().to_ascii_lowercase()
}

impl ActionPattern {
    /// Parses a pattern (`constraint_invalid` on a bad one).
    pub fn parse(key: &str, p: &str) -> Result<ActionPattern> {
        let p = norm_action(p);
        if p.is_empty() || p.len() > 256 || p.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid(
                key,
                format!("action pattern {p:?} is empty, too long or has whitespace"),
            ));
        }
        if p == "*" {
            return Ok(ActionPattern::Any);
        }
        if let Some(prefix) = p.strip_suffix('*') {
            if prefix.ends_with(':') && !prefix.contains('*') && prefix.len() > 1 {
                return Ok(ActionPattern::Prefix(prefix.to_string()));
            }
        }
        if p.contains('*') {
            return Err(invalid(
                key,
                format!("action pattern {p:?}: '*' is only allowed as \"*\" or a trailing \":*\""),
            ));
        }
        Ok(ActionPattern::Exact(p))
    }

    /// Whether an action matches: as [`norm_action`] would write it (trimmed, ASCII
    /// lowercase), compared without writing it (patterns are stored normalised).
    pub fn matches(&self, action: &str) -> bool {
        let a = action.trim().as_bytes();
        match self {
            ActionPattern::Any => true,
            ActionPattern::Prefix(p) => a
                .get(..p.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(p.as_bytes())),
            ActionPattern::Exact(e) => a.eq_ignore_ascii_case(e.as_bytes()),
        }
    }

    /// Whether every action this pattern matches is matched by `other` (used by merge).
    pub fn covered_by(&self, other: &ActionPattern) -> bool {
        match (self, other) {
            (_, ActionPattern::Any) => true,
            (ActionPattern::Any, _) => false,
            (ActionPattern::Exact(a), o) => o.matches(a),
            (ActionPattern::Prefix(p), ActionPattern::Prefix(q)) => p.starts_with(q.as_str()),
            (ActionPattern::Prefix(_), ActionPattern::Exact(_)) => false,
        }
    }
}

impl fmt::Display for ActionPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActionPattern::Any => f.write_str("*"),
            ActionPattern::Prefix(p) => write!(f, "{p}*"),
            ActionPattern::Exact(e) => f.write_str(e),
        }
    }
}

/// A path pattern of `allowed_paths`: `*`, `/prefix/*` (the prefix itself and anything under
/// it) or an exact path. Patterns are canonicalised like target paths.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum PathPattern {
    Any,
    Under(String),
    Exact(String),
}

impl PathPattern {
    pub(crate) fn parse(key: &str, p: &str) -> Result<PathPattern> {
        let p = p.trim();
        if p == "*" {
            return Ok(PathPattern::Any);
        }
        if !p.starts_with('/') || p.len() > 2048 {
            return Err(invalid(
                key,
                format!("path pattern {p:?} must start with '/'"),
            ));
        }
        let (base, under) = match p.strip_suffix("/*") {
            Some(b) => (b, true),
            None => (p, false),
        };
        if base.contains('*') || base.contains(['?', '#']) {
            return Err(invalid(
                key,
                format!("path pattern {p:?}: '*' only as a trailing \"/*\""),
            ));
        }
        let c = canonical_path(if base.is_empty() { "/" } else { base })
            .map_err(|e| invalid(key, e.detail()))?;
        Ok(if under {
            PathPattern::Under(c)
        } else {
            PathPattern::Exact(c)
        })
    }

    pub(crate) fn matches(&self, path: &str) -> bool {
        match self {
            PathPattern::Any => true,
            PathPattern::Exact(e) => path == e,
            PathPattern::Under(b) => {
                b == "/"
                    || path == b
                    || (path.starts_with(b.as_str()) && path.as_bytes().get(b.len()) == Some(&b'/'))
            }
        }
    }
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathPattern::Any => f.write_str("*"),
            PathPattern::Exact(e) => f.write_str(e),
            PathPattern::Under(b) if b == "/" => f.write_str("/*"),
            PathPattern::Under(b) => write!(f, "{b}/*"),
        }
    }
}

pub(super) fn parse_actions(key: &str, v: &Value) -> Result<Vec<ActionPattern>> {
    as_str_list(key, v, MAX_LIST)?
        .iter()
        .map(|p| ActionPattern::parse(key, p))
        .collect()
}

pub(super) fn parse_domains(key: &str, v: &Value) -> Result<Vec<DomainPattern>> {
    as_str_list(key, v, MAX_LIST)?
        .iter()
        .map(|p| DomainPattern::parse(p).map_err(|e| invalid(key, e.detail())))
        .collect()
}

pub(super) fn parse_paths(key: &str, v: &Value) -> Result<Vec<PathPattern>> {
    as_str_list(key, v, MAX_LIST)?
        .iter()
        .map(|p| PathPattern::parse(key, p))
        .collect()
}

pub(super) fn action_blocklist(
    key: &Arc<str>,
    l: &Listed<ActionPattern>,
    ctx: &EvalContext,
) -> Evaluation {
    let action = ctx.action;
    let obs = Value::from(action);
    match l.iter().find(|p| p.matches(action)) {
        Some(p) => Evaluation::of(
            key,
            Decision::Block,
            obs,
            l.shown(),
            format!(
                "action {:?} is blocked (matches {:?})",
                action,
                p.to_string()
            ),
        ),
        None => Evaluation::of(
            key,
            Decision::Allow,
            obs,
            l.shown(),
            "action is not blocked",
        ),
    }
}

pub(super) fn action_allowlist(
    key: &Arc<str>,
    l: &Listed<ActionPattern>,
    ctx: &EvalContext,
) -> Evaluation {
    let action = ctx.action;
    let obs = Value::from(action);
    if l.iter().any(|p| p.matches(action)) {
        Evaluation::of(key, Decision::Allow, obs, l.shown(), "action is allowed")
    } else {
        Evaluation::of(
            key,
            Decision::Block,
            obs,
            l.shown(),
            format!("action {action:?} is not in the allowlist"),
        )
    }
}

pub(super) fn domain_blocklist(
    key: &Arc<str>,
    l: &Listed<DomainPattern>,
    ctx: &EvalContext,
) -> Evaluation {
    let host = ctx.target.as_ref().and_then(|t| t.host());
    let obs = host.map(Value::from).unwrap_or(Value::Null);
    match host.and_then(|h| l.iter().find(|p| p.matches(h)).map(|p| (h, p))) {
        Some((h, p)) => Evaluation::of(
            key,
            Decision::Block,
            obs,
            l.shown(),
            format!("domain {h} is blocked (matches {p})"),
        ),
        None => Evaluation::of(
            key,
            Decision::Allow,
            obs,
            l.shown(),
            "domain is not blocked",
        ),
    }
}

pub(super) fn domain_allowlist(
    key: &Arc<str>,
    l: &Listed<DomainPattern>,
    ctx: &EvalContext,
) -> Evaluation {
    let host = ctx.target.as_ref().and_then(|t| t.host());
    let obs = host.map(Value::from).unwrap_or(Value::Null);
    match host {
        None => Evaluation::of(
            key,
            Decision::Block,
            obs,
            l.shown(),
            "request has no target host, and a domain allowlist is set; failing closed",
        ),
        Some(h) if l.iter().any(|p| p.matches(h)) => {
            Evaluation::of(key, Decision::Allow, obs, l.shown(), "domain is allowed")
        }
        Some(h) => Evaluation::of(
            key,
            Decision::Block,
            obs,
            l.shown(),
            format!("domain {h} is not in the allowlist"),
        ),
    }
}

pub(super) fn path_allowlist(
    key: &Arc<str>,
    l: &Listed<PathPattern>,
    ctx: &EvalContext,
) -> Evaluation {
    let path = ctx
        .target
        .as_ref()
        .filter(|t| t.kind() != TargetKind::Resource)
        .map(|t| t.path());
    let obs = path.map(Value::from).unwrap_or(Value::Null);
    match path {
        None => Evaluation::of(
            key,
            Decision::Block,
            obs,
            l.shown(),
            "request has no URL target, and a path allowlist is set; failing closed",
        ),
        Some(p) if l.iter().any(|pat| pat.matches(p)) => {
            Evaluation::of(key, Decision::Allow, obs, l.shown(), "path is allowed")
        }
        Some(p) => Evaluation::of(
            key,
            Decision::Block,
            obs,
            l.shown(),
            format!("path {p} is not in the allowlist"),
        ),
    }
}

/// The model is `metadata.model`; compared ASCII-case-insensitively.
pub(super) fn model_allowlist(key: &Arc<str>, l: &[String], ctx: &EvalContext) -> Evaluation {
    let model = ctx.metadata.get("model").and_then(Value::as_str);
    let obs = model.map(Value::from).unwrap_or(Value::Null);
    let limit = Value::from(l.to_vec());
    match model {
        None => Evaluation::of(
            key,
            Decision::Block,
            obs,
            limit,
            "request metadata has no \"model\", and a model allowlist is set; failing closed",
        ),
        Some(m) if l.iter().any(|x| x.trim().eq_ignore_ascii_case(m.trim())) => {
            Evaluation::of(key, Decision::Allow, obs, limit, "model is allowed")
        }
        Some(m) => Evaluation::of(
            key,
            Decision::Block,
            obs,
            limit,
            format!("model {m:?} is not in the allowlist"),
        ),
    }
}

impl PathPattern {
    /// Whether every path this pattern matches is matched by `other` (used by merge).
    pub(crate) fn covered_by(&self, other: &PathPattern) -> bool {
        match (self, other) {
            (_, PathPattern::Any) => true,
            (PathPattern::Any, _) => false,
            (PathPattern::Exact(p), o) => o.matches(p),
            (PathPattern::Under(b), PathPattern::Under(_)) => other.matches(b),
            (PathPattern::Under(_), PathPattern::Exact(_)) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Matching compares without normalising the action into a new string; it must answer
        /// as comparing the normalised action would.
        #[test]
        fn matching_is_matching_the_normalised_action(
            action in "[ \\ta-zA-Z:*_\u{e9}\u{130}-]{0,12}",
            pattern in "[a-zA-Z:_\u{e9}-]{1,8}(:\\*)?",
        ) {
            let a = norm_action(&action);
            for p in [ActionPattern::parse("k", &pattern), ActionPattern::parse("k", "*")] {
                let Ok(p) = p else { continue };
                let expected = match &p {
                    ActionPattern::Any => true,
                    ActionPattern::Prefix(x) => a.starts_with(x.as_str()),
                    ActionPattern::Exact(x) => a == *x,
                };
                proptest::prop_assert_eq!(p.matches(&action), expected, "{:?} {:?}", action, p);
            }
        }
    }
}
