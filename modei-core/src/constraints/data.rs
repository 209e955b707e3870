//! Data: `core:data:read_only`, `core:data:no_pii_export`.

use super::{Decision, EvalContext, Evaluation};
use serde_json::Value;
use std::sync::Arc;

/// Verbs that make an action a write. An action is split into words at any character that is
/// not a letter or digit and at lowercase→uppercase steps (`createUser` → `create`, `user`);
/// if any word is in this list, the action writes.
pub const WRITE_VERBS: &[&str] = &[
    "add",
    "append",
    "approve",
    "archive",
    "assign",
    "book",
    "buy",
    "cancel",
    "charge",
    "close",
    "comment",
    "commit",
    "create",
    "delete",
    "deploy",
    "deposit",
    "destroy",
    "disable",
    "drop",
    "edit",
    "enable",
    "exec",
    "execute",
    "follow",
    "forward",
    "grant",
    "import",
    "insert",
    "install",
    "invite",
    "invoke",
    "kill",
    "merge",
    "mint",
    "modify",
    "move",
    "mutate",
    "order",
    "overwrite",
    "patch",
    "pay",
    "post",
    "publish",
    "purchase",
    "push",
    "put",
    "refund",
    "reject",
    "remove",
    "rename",
    "replace",
    "reply",
    "reset",
    "restart",
    "restore",
    "revoke",
    "run",
    "save",
    "send",
    "set",
    "share",
    "sign",
    "start",
    "stop",
    "store",
    "submit",
    "subscribe",
    "transfer",
    "truncate",
    "uninstall",
    "unsubscribe",
    "update",
    "upload",
    "upsert",
    "withdraw",
    "write",
];

/// HTTP methods that do not write. Any other `metadata.method` makes the request a write.
pub const SAFE_METHODS: &[&str] = &["GET", "HEAD", "OPTIONS", "TRACE"];

fn words(action: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in action.chars() {
        if c.is_alphanumeric() {
            if c.is_uppercase() && prev_lower && !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
            cur.extend(c.to_lowercase());
        } else {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Why a request counts as a write, if it does.
pub(crate) fn write_reason(ctx: &EvalContext) -> Option<String> {
    if let Some(m) = ctx.metadata.get("method") {
        match m.as_str() {
            Some(s)
                if SAFE_METHODS
                    .iter()
                    .any(|x| x.eq_ignore_ascii_case(s.trim())) => {}
            Some(s) => return Some(format!("method {s:?} writes")),
            None => return Some("metadata.method is not a string".into()),
        }
    }
    let action = ctx.action;
    words(action)
        .into_iter()
        .find(|w| WRITE_VERBS.contains(&w.as_str()))
        .map(|w| format!("action {action:?} contains the write verb {w:?}"))
}

pub(super) fn read_only(key: &Arc<str>, ctx: &EvalContext) -> Evaluation {
    let obs = Value::from(ctx.action);
    match write_reason(ctx) {
        Some(why) => Evaluation::of(
            key,
            Decision::Block,
            obs,
            Value::Bool(true),
            format!("read-only: {why}"),
        ),
        None => Evaluation::of(
            key,
            Decision::Allow,
            obs,
            Value::Bool(true),
            "action reads only",
        ),
    }
}

/// Finds personal data in text. Implement it to plug in a better detector.
pub trait PiiDetector: Send + Sync {
    /// The kind of PII found in `text` (e.g. `"email"`), or `None`.
    fn detect(&self, text: &str) -> Option<&'static str>;
}

/// The default detector: email addresses, payment card numbers (13–19 digits, optionally
/// grouped by single spaces or dashes, Luhn-valid) and US social security numbers written
/// `AAA-GG-SSSS` or `AAA GG SSSS` (area not 000, 666 or 9xx; group not 00; serial not 0000).
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultPiiDetector;

impl PiiDetector for DefaultPiiDetector {
    fn detect(&self, text: &str) -> Option<&'static str> {
        if has_email(text) {
            return Some("email");
        }
        if has_card(text) {
            return Some("card_number");
        }
        if has_ssn(text) {
            return Some("us_ssn");
        }
        None
    }
}

fn has_email(t: &str) -> bool {
    let b = t.as_bytes();
    let local = |c: u8| c.is_ascii_alphanumeric() || b"._%+-".contains(&c);
    let dom = |c: u8| c.is_ascii_alphanumeric() || c == b'.' || c == b'-';
    for (i, &c) in b.iter().enumerate() {
        if c != b'@' || i == 0 || !local(b[i - 1]) {
            continue;
        }
        let mut j = i + 1;
        while j < b.len() && dom(b[j]) {
            j += 1;
        }
        let d = t[i + 1..j].trim_end_matches(['.', '-']);
        if let Some(dot) = d.rfind('.') {
            let tld = &d[dot + 1..];
            if dot > 0 && tld.len() >= 2 && tld.bytes().all(|c| c.is_ascii_alphabetic()) {
                return true;
            }
        }
    }
    false
}

fn luhn(d: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &x) in d.iter().rev().enumerate() {
        let mut v = x as u32;
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum % 10 == 0
}

fn has_card(t: &str) -> bool {
    let b = t.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let mut digits: Vec<u8> = Vec::new();
        let mut j = i;
        while j < b.len() {
            if b[j].is_ascii_digit() {
                digits.push(b[j] - b'0');
                j += 1;
            } else if (b[j] == b' ' || b[j] == b'-')
                && j + 1 < b.len()
                && b[j + 1].is_ascii_digit()
                && j > i
            {
                j += 1;
            } else {
                break;
            }
            if digits.len() > 19 {
                break;
            }
        }
        if (13..=19).contains(&digits.len()) && luhn(&digits) {
            return true;
        }
        // Skip the run.
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        i = j.max(i + 1);
    }
    false
}

fn has_ssn(t: &str) -> bool {
    let b = t.as_bytes();
    if b.len() < 11 {
        return false;
    }
    for i in 0..=b.len() - 11 {
        let w = &b[i..i + 11];
        let sep = w[3];
        if !(sep == b'-' || sep == b' ') || w[6] != sep {
            continue;
        }
        let digits_ok = [0, 1, 2, 4, 5, 7, 8, 9, 10]
            .iter()
            .all(|&k| w[k].is_ascii_digit());
        if !digits_ok {
            continue;
        }
        if (i > 0 && b[i - 1].is_ascii_digit()) || b.get(i + 11).is_some_and(|c| c.is_ascii_digit())
        {
            continue;
        }
        let area = &w[0..3];
        if area == b"000"
            || area == b"666"
            || area[0] == b'9'
            || &w[4..6] == b"00"
            || &w[7..11] == b"0000"
        {
            continue;
        }
        return true;
    }
    false
}

/// Most string bytes scanned per request; more is blocked (fail closed).
pub const MAX_SCAN_BYTES: usize = 1 << 20;
/// Deepest metadata nesting scanned; deeper is blocked (fail closed).
pub const MAX_SCAN_DEPTH: usize = 32;

enum Scan {
    Found(&'static str, String),
    TooBig(&'static str),
    Clean,
}

fn scan(
    v: &Value,
    path: &mut String,
    det: &dyn PiiDetector,
    budget: &mut usize,
    depth: usize,
) -> Scan {
    if depth > MAX_SCAN_DEPTH {
        return Scan::TooBig("metadata is nested too deeply to scan for PII");
    }
    let check = |s: &str, path: &String, budget: &mut usize| {
        if s.len() > *budget {
            return Scan::TooBig("metadata is too large to scan for PII");
        }
        *budget -= s.len();
        match det.detect(s) {
            Some(k) => Scan::Found(k, path.clone()),
            None => Scan::Clean,
        }
    };
    match v {
        Value::String(s) => check(s, path, budget),
        Value::Number(n) => check(&n.to_string(), path, budget),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let r = scan(x, path, det, budget, depth + 1);
                path.truncate(len);
                if !matches!(r, Scan::Clean) {
                    return r;
                }
            }
            Scan::Clean
        }
        Value::Object(o) => {
            for (k, x) in o {
                let len = path.len();
                path.push('.');
                path.push_str(k);
                let r = scan(x, path, det, budget, depth + 1);
                path.truncate(len);
                if !matches!(r, Scan::Clean) {
                    return r;
                }
            }
            Scan::Clean
        }
        _ => Scan::Clean,
    }
}

/// Scans the target and every string (and number) in the metadata.
pub(super) fn no_pii_export(
    key: &Arc<str>,
    det: &dyn PiiDetector,
    ctx: &EvalContext,
) -> Evaluation {
    let mut budget = MAX_SCAN_BYTES;
    let mut path = String::from("target");
    let mut r = match &ctx.target {
        Some(t) => scan(&Value::from(t.as_str()), &mut path, det, &mut budget, 0),
        None => Scan::Clean,
    };
    if matches!(r, Scan::Clean) {
        let mut path = String::from("metadata");
        r = scan(&ctx.metadata, &mut path, det, &mut budget, 0);
    }
    match r {
        Scan::Clean => Evaluation::of(
            key,
            Decision::Allow,
            Value::Null,
            Value::Bool(true),
            "no PII found",
        ),
        Scan::Found(kind, at) => Evaluation::of(
            key,
            Decision::Block,
            serde_json::json!({ "kind": kind, "at": at }),
            Value::Bool(true),
            format!("{kind} found at {at}"),
        ),
        Scan::TooBig(why) => Evaluation::of(
            key,
            Decision::Block,
            Value::Null,
            Value::Bool(true),
            format!("{why}; failing closed"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pii_default_detector() {
        let d = DefaultPiiDetector;
        assert_eq!(
            d.detect("write to jane.doe+x@example.co.uk today"),
            Some("email")
        );
        assert_eq!(d.detect("user@localhost"), None);
        assert_eq!(d.detect("@handle and a@b"), None);
        // 4111 1111 1111 1111 is the classic Luhn-valid Visa test number.
        assert_eq!(
            d.detect("card 4111 1111 1111 1111 exp"),
            Some("card_number")
        );
        assert_eq!(d.detect("card 4111-1111-1111-1111"), Some("card_number"));
        // Same digits with the last one changed: Luhn sum is off by one.
        assert_eq!(d.detect("card 4111 1111 1111 1112"), None);
        assert_eq!(d.detect("order 12345678901234"), None); // 14 digits, Luhn: 4 - not valid
        assert_eq!(d.detect("ssn 123-45-6789."), Some("us_ssn"));
        assert_eq!(d.detect("ssn 123 45 6789"), Some("us_ssn"));
        assert_eq!(d.detect("ssn 666-45-6789"), None);
        assert_eq!(d.detect("ssn 923-45-6789"), None);
        assert_eq!(d.detect("ssn 123-00-6789"), None);
        assert_eq!(d.detect("tel 1123-45-67890"), None);
        assert_eq!(d.detect("date 2026-11-25"), None);
    }

    #[test]
    fn write_words() {
        assert_eq!(words("email:send"), vec!["email", "send"]);
        assert_eq!(words("createUser"), vec!["create", "user"]);
        assert_eq!(words("db.rows/DELETE"), vec!["db", "rows", "delete"]);
        let mut ctx = EvalContext::new(
            "postgres:query",
            crate::time::Timestamp::from_unix_millis(0),
        );
        assert_eq!(write_reason(&ctx), None); // "postgres" is not "post"
        ctx.action = "files:upload";
        assert!(write_reason(&ctx).is_some());
        ctx.action = "files:read";
        ctx.metadata = std::borrow::Cow::Owned(serde_json::json!({"method": "get"}));
        assert_eq!(write_reason(&ctx), None);
        ctx.metadata = std::borrow::Cow::Owned(serde_json::json!({"method": "PATCH"}));
        assert!(write_reason(&ctx).is_some());
    }
}
