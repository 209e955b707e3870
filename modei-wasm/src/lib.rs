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
pub fn raise_for_test(code: &str, detail: Option<String>) -> Result<(), JsError> {
    let c = Code::from_str_code(code)
        .ok_or_else(|| invalid_argument(format!("code: unknown error code {code:?}")))?;
    Err(js_err(Error::new(
        c,
        detail.unwrap_or_else(|| "raised for test".into()),
    )))
}
