//! WebAssembly binding for modei-core (npm `modei-wasm`), built with wasm-bindgen.
//!
//! Keep this crate thin: convert arguments, call the core, map errors. No protocol logic.
//!
//! # Errors (shared convention with modei-node)
//! A core error is thrown as a plain JS `Error` whose message is
//! `[modei:<family>:<code>] <detail>` (see [`js_err`]). The JS wrapper (`js/errors.mjs`,
//! applied to every export in `js/api.mjs`) rethrows it as the family class (`PassportError`,
//! ...; all extend `ModeiError`) with `.code`, `.detail`, `.family`.
//!
//! # Adding a function
//! ```text
//! #[wasm_bindgen]
//! pub fn canonicalize(json: &str) -> Result<String, JsError> {
//!     modei_core::canonical::canonicalize_str(json).or_throw()
//! }
//! ```
//! then one line in `js/api.mjs`: `export const canonicalize = wrap(raw.canonicalize);`.
//! JSON results: return `Result<JsValue, JsError>` via [`json_to_js`].

use modei_core::{Code, Error};
use wasm_bindgen::prelude::*;

pub mod gate;
pub mod keys;
pub mod passport;

/// Text or bytes from JS (`string` or `Uint8Array`; the JS layer serialises objects to JSON).
pub fn bytes_of(v: &JsValue, what: &str) -> Result<Vec<u8>, JsError> {
    if let Some(s) = v.as_string() {
        return Ok(s.into_bytes());
    }
    if let Some(a) = v.dyn_ref::<js_sys::Uint8Array>() {
        return Ok(a.to_vec());
    }
    Err(invalid_argument(format!(
        "{what}: expected a string or a Uint8Array"
    )))
}

/// A string argument (anything else is `invalid_argument`; wasm-bindgen's own glue does not
/// check types, so every argument crosses as a `JsValue` and is checked here).
pub fn str_of(v: &JsValue, what: &str) -> Result<String, JsError> {
    v.as_string()
        .ok_or_else(|| invalid_argument(format!("{what}: expected a string")))
}

/// An optional string argument (`undefined` / `null`: absent).
pub fn opt_str_of(v: &JsValue, what: &str) -> Result<Option<String>, JsError> {
    if v.is_undefined() || v.is_null() {
        Ok(None)
    } else {
        str_of(v, what).map(Some)
    }
}

/// A byte argument: a `Uint8Array` only.
pub fn u8_of(v: &JsValue, what: &str) -> Result<Vec<u8>, JsError> {
    v.dyn_ref::<js_sys::Uint8Array>()
        .map(|a| a.to_vec())
        .ok_or_else(|| invalid_argument(format!("{what}: expected a Uint8Array")))
}

/// An array of strings.
pub fn strings_of(v: &JsValue, what: &str) -> Result<Vec<String>, JsError> {
    let a = v
        .dyn_ref::<js_sys::Array>()
        .ok_or_else(|| invalid_argument(format!("{what}: expected an array of strings")))?;
    a.iter()
        .enumerate()
        .map(|(i, x)| str_of(&x, &format!("{what}[{i}]")))
        .collect()
}

/// JSON text from the JS layer, read strictly.
pub fn json_arg(text: &JsValue, what: &str) -> Result<serde_json::Value, JsError> {
    let text = str_of(text, what)?;
    modei_core::api::parse_json(text.as_bytes())
        .map_err(|e| js_err(Error::new(e.code(), format!("{what}: {}", e.detail()))))
}

/// A time from JS (RFC 3339 text or Unix ms) as the facade's JSON time value.
pub fn time_value(v: &JsValue, what: &str) -> Result<serde_json::Value, JsError> {
    if let Some(s) = v.as_string() {
        return Ok(serde_json::Value::String(s));
    }
    if let Some(n) = v.as_f64() {
        return Ok(serde_json::Value::from(n as i64));
    }
    Err(invalid_argument(format!(
        "{what}: expected an RFC 3339 string or Unix milliseconds"
    )))
}

/// "now" from JS (the JS layer always passes one on wasm32: `Date.now()` by default).
pub fn now_of(v: &JsValue) -> Result<modei_core::time::Timestamp, JsError> {
    let mut o = serde_json::Map::new();
    if !v.is_undefined() && !v.is_null() {
        o.insert("now".into(), time_value(v, "now")?);
    }
    modei_core::api::now_from(&serde_json::Value::Object(o)).or_throw()
}

/// The one place a core error becomes a JS error (rethrown as a `ModeiError` subclass by the wrapper).
pub fn js_err(e: Error) -> JsError {
    JsError::new(&format!(
        "[modei:{}:{}] {}",
        e.code().family().as_str(),
        e.code().as_str(),
        e.detail()
    ))
}

/// `result.or_throw()?` turns a core `Result` into a wasm-bindgen result through [`js_err`].
pub trait OrThrow<T> {
    fn or_throw(self) -> Result<T, JsError>;
}

impl<T> OrThrow<T> for modei_core::Result<T> {
    fn or_throw(self) -> Result<T, JsError> {
        self.map_err(js_err)
    }
}

/// An `invalid_argument` error raised by the binding itself.
pub fn invalid_argument(detail: impl Into<String>) -> JsError {
    js_err(Error::new(Code::InvalidArgument, detail))
}

/// Converts a JSON value to a plain JS value (objects, arrays, strings, numbers, booleans, null).
pub fn json_to_js(v: &serde_json::Value) -> Result<JsValue, JsError> {
    js_sys::JSON::parse(&v.to_string()).map_err(|_| {
        js_err(Error::new(
            Code::InvalidArgument,
            "result is not valid JSON",
        ))
    })
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(s: &str);
}

/// Runs when the module is instantiated: a panic (a bug: the core has none on any input) is
/// reported on the console before the wasm trap, so it can be found.
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        console_error(&format!("modei-wasm panic: {info}"))
    }));
}

/// The library version.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Every error code, in table order, as `{code, family, meaning}` objects.
#[wasm_bindgen(js_name = errorCodes)]
pub fn error_codes() -> Result<JsValue, JsError> {
    let rows: Vec<serde_json::Value> = Code::ALL
        .iter()
        .map(|c| {
            serde_json::json!({
                "code": c.as_str(),
                "family": c.family().as_str(),
                "meaning": c.meaning(),
            })
        })
        .collect();
    json_to_js(&serde_json::Value::Array(rows))
}

/// Test hook: always throws the error for `code`. Not part of the API.
#[wasm_bindgen(js_name = __raiseForTest)]
pub fn raise_for_test(code: JsValue, detail: JsValue) -> Result<(), JsError> {
    let code = str_of(&code, "code")?;
    let detail = opt_str_of(&detail, "detail")?;
    let code = code.as_str();
    let c = Code::from_str_code(code)
        .ok_or_else(|| invalid_argument(format!("code: unknown error code {code:?}")))?;
    Err(js_err(Error::new(
        c,
        detail.unwrap_or_else(|| "raised for test".into()),
    )))
}
