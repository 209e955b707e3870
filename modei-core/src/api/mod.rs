//! The JSON facade: one set of functions that every binding (Python, Node, WASM, CLI) wraps, so
//! that every language gives the same answer to the byte.
//!
//! Style (after cedar's `ffi` module): functions take JSON text (`&[u8]` / `&str`) or
//! [`serde_json::Value`] and return [`serde_json::Value`] built directly (no intermediate
//! serialisation). Stateful things are handles (`Send + Sync`) built from JSON: a
//! [`trust::VerifierHandle`], a [`trust::TrustStoreHandle`], a [`trust::RevocationHandle`].
//! Errors are the core's [`Error`] (stable code + detail); bindings map them to their own
//! exception classes. A verdict that is a result (for example a gate's `block`) is data, never an
//! error.
//!
//! Every function's input and output shape is documented in `docs/api.md`.
//!
//! Conventions shared by every area:
//! - **times** are accepted as RFC 3339 strings or integer Unix **milliseconds**, and returned as
//!   RFC 3339 strings with milliseconds (`2026-05-01T00:00:00.000Z`);
//! - **`now`** in an options object is optional; absent means the system clock (bindings on
//!   `wasm32-unknown-unknown` pass `Date.now()`);
//! - **keys** are returned as standard base64 of the 32 raw bytes unless said otherwise;
//! - **JSON text inputs** are read with the strict reader (duplicate keys refused).

pub mod attestation;
pub mod canonical;
pub mod catalog;
pub mod gate;
pub mod keys;
pub mod passport;
pub mod trust;

use crate::error::{Code, Error, Result};
use crate::time::Timestamp;
use serde_json::{Map, Value};

/// Reads JSON text strictly (duplicate members refused, resource bounds applied).
pub fn parse_json(input: &[u8]) -> Result<Value> {
    crate::json::parse_strict(input)
}

pub(crate) fn invalid(detail: impl Into<String>) -> Error {
    Error::new(Code::InvalidArgument, detail)
}

/// `v` as an object, or `invalid_argument` naming `what`.
pub(crate) fn obj<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| invalid(format!("{what}: expected a JSON object")))
}

/// An optional member: absent and `null` are `None`.
pub(crate) fn member<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key).filter(|x| !x.is_null())
}

pub(crate) fn opt_str<'a>(v: &'a Value, key: &str) -> Result<Option<&'a str>> {
    match member(v, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(format!("{key}: expected a string"))),
    }
}

pub(crate) fn req_str<'a>(v: &'a Value, key: &str) -> Result<&'a str> {
    opt_str(v, key)?.ok_or_else(|| invalid(format!("{key}: required string missing")))
}

pub(crate) fn opt_bool(v: &Value, key: &str) -> Result<Option<bool>> {
    match member(v, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid(format!("{key}: expected a boolean"))),
    }
}

pub(crate) fn opt_i64(v: &Value, key: &str) -> Result<Option<i64>> {
    match member(v, key) {
        None => Ok(None),
        Some(x) => x
            .as_i64()
            .map(Some)
            .ok_or_else(|| invalid(format!("{key}: expected an integer"))),
    }
}

pub(crate) fn opt_str_list(v: &Value, key: &str) -> Result<Vec<String>> {
    match member(v, key) {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| invalid(format!("{key}: expected strings")))
            })
            .collect(),
        Some(_) => Err(invalid(format!(
            "{key}: expected a string or a list of strings"
        ))),
    }
}

/// A time given as an RFC 3339 string or integer Unix milliseconds.
pub fn parse_time(v: &Value, what: &str) -> Result<Timestamp> {
    match v {
        Value::String(s) => Timestamp::parse_rfc3339(s),
        Value::Number(n) => n
            .as_i64()
            .map(Timestamp::from_unix_millis)
            .ok_or_else(|| invalid(format!("{what}: expected integer milliseconds"))),
        _ => Err(invalid(format!(
            "{what}: expected an RFC 3339 string or integer Unix milliseconds"
        ))),
    }
}

pub(crate) fn opt_time(v: &Value, key: &str) -> Result<Option<Timestamp>> {
    member(v, key).map(|x| parse_time(x, key)).transpose()
}

pub(crate) fn req_time(v: &Value, key: &str) -> Result<Timestamp> {
    opt_time(v, key)?.ok_or_else(|| invalid(format!("{key}: required time missing")))
}

/// The current time for a call: `options.now` if given, else the system clock.
pub fn now_from(options: &Value) -> Result<Timestamp> {
    match member(options, "now") {
        Some(v) => parse_time(v, "now"),
        None => system_now(),
    }
}

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn system_now() -> Result<Timestamp> {
    use crate::time::Clock;
    Ok(crate::time::SystemClock.now())
}

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn system_now() -> Result<Timestamp> {
    Err(invalid("now: required on wasm32 (pass Date.now())"))
}

/// A timestamp as RFC 3339 with milliseconds (`null` if out of the representable range).
pub fn time_json(t: Timestamp) -> Value {
    t.to_rfc3339_millis()
        .map(Value::String)
        .unwrap_or(Value::Null)
}

/// An error as data: `{"code", "family", "detail"}` (used where a result lists failures).
pub fn error_json(e: &Error) -> Value {
    let mut m = Map::new();
    m.insert("code".into(), Value::String(e.code().as_str().into()));
    m.insert(
        "family".into(),
        Value::String(e.code().family().as_str().into()),
    );
    m.insert("detail".into(), Value::String(e.detail().into()));
    Value::Object(m)
}

/// The error table: `[{"code", "family", "meaning"}]`, in `Code::ALL` order.
pub fn error_codes() -> Value {
    Value::Array(
        Code::ALL
            .iter()
            .map(|c| {
                let mut m = Map::new();
                m.insert("code".into(), Value::String(c.as_str().into()));
                m.insert("family".into(), Value::String(c.family().as_str().into()));
                m.insert("meaning".into(), Value::String(c.meaning().into()));
                Value::Object(m)
            })
            .collect(),
    )
}

/// Permissions from JSON: a list whose items are a permission key string or
/// `{"permission_key": "...", "constraints": {...}}`.
pub(crate) fn permissions_from(v: Option<&Value>) -> Result<Vec<crate::envelope::Permission>> {
    let Some(v) = v.filter(|x| !x.is_null()) else {
        return Ok(Vec::new());
    };
    let arr = v
        .as_array()
        .ok_or_else(|| invalid("permissions: expected a list"))?;
    arr.iter()
        .enumerate()
        .map(|(i, p)| match p {
            Value::String(s) => Ok(crate::envelope::Permission {
                permission_key: s.clone(),
                constraints: Default::default(),
            }),
            Value::Object(o) => {
                let key = o
                    .get("permission_key")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        invalid(format!(
                            "permissions[{i}].permission_key: expected a string"
                        ))
                    })?;
                let constraints = match o.get("constraints") {
                    None | Some(Value::Null) => Map::new(),
                    Some(Value::Object(c)) => c.clone(),
                    Some(_) => {
                        return Err(invalid(format!(
                            "permissions[{i}].constraints: expected an object"
                        )))
                    }
                };
                Ok(crate::envelope::Permission {
                    permission_key: key.to_owned(),
                    constraints: constraints.into(),
                })
            }
            _ => Err(invalid(format!(
                "permissions[{i}]: expected a string or {{\"permission_key\", \"constraints\"}}"
            ))),
        })
        .collect()
}

pub(crate) fn permissions_json(p: &[crate::envelope::Permission]) -> Value {
    Value::Array(
        p.iter()
            .map(|p| {
                let mut m = Map::new();
                m.insert(
                    "permission_key".into(),
                    Value::String(p.permission_key.clone()),
                );
                m.insert(
                    "constraints".into(),
                    Value::Object(Map::clone(&p.constraints)),
                );
                Value::Object(m)
            })
            .collect(),
    )
}

/// `t` (RFC 3339 or Unix ms) if given, else the system clock.
pub fn time_or_now(t: Option<&Value>) -> Result<Timestamp> {
    match t.filter(|x| !x.is_null()) {
        Some(v) => parse_time(v, "now"),
        None => system_now(),
    }
}
