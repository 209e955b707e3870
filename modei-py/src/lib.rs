//! Python binding for modei-core (module `modei_core`).
//!
//! Keep this crate thin: every function converts arguments, calls the core and maps errors.
//! No protocol logic lives here.
//!
//! # Errors
//! Every core failure becomes an instance of a family subclass of `ModeiError` with `.code`
//! (the stable snake_case code), `.detail` and `.family` set. Inside a `#[pyfunction]` write
//! `core_call(...).or_raise()?` (or `.map_err(to_py_err)?`); nothing else is needed.
//!
//! # Adding a function
//! ```text
//! #[pyfunction]
//! fn canonicalize(py: Python<'_>, json: &str) -> PyResult<String> {
//!     ::modei_core::canonical::canonicalize_str(json).or_raise()
//! }
//! ```
//! then add `m.add_function(wrap_pyfunction!(canonicalize, m)?)?;` in [`py_module`] and the
//! signature in `modei_core.pyi`.

// `::modei_core` is the core crate; this crate's own library is also named `modei_core`
// (the Python import name), hence the `#[pymodule(name = ...)]` below.
use ::modei_core::{Code, Error, Family};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyDict;

pub mod bind;
pub mod conv;

create_exception!(
    modei_core,
    ModeiError,
    PyException,
    "Base class of every modei error. Attributes: code (stable snake_case), detail, family."
);
create_exception!(
    modei_core,
    CanonicalizationError,
    ModeiError,
    "Malformed JSON, RFC 8785 rejections, JSON resource bounds."
);
create_exception!(
    modei_core,
    ModeiKeyError,
    ModeiError,
    "Key and signature encodings, raw signature verification, credentials files."
);
create_exception!(
    modei_core,
    PassportError,
    ModeiError,
    "Passport parsing and verification (both wire forms), delegation."
);
create_exception!(
    modei_core,
    TrustError,
    ModeiError,
    "Trust store, issuer policy, key windows, revocation."
);
create_exception!(
    modei_core,
    ConstraintError,
    ModeiError,
    "Gate pipeline and constraint evaluation errors."
);
create_exception!(
    modei_core,
    AttestationError,
    ModeiError,
    "Attestations, chains, logs and checkpoints."
);
create_exception!(
    modei_core,
    CatalogError,
    ModeiError,
    "Permission catalogs, consumption receipts and settlement."
);
create_exception!(
    modei_core,
    StateError,
    ModeiError,
    "Shared state store failures."
);
create_exception!(
    modei_core,
    InvalidInputError,
    ModeiError,
    "Bad arguments or configuration given by the caller."
);

/// Python class name for each family (the same names are used by the Node and WASM bindings).
pub fn family_class_name(f: Family) -> &'static str {
    match f {
        Family::Canonicalization => "CanonicalizationError",
        Family::Key => "ModeiKeyError",
        Family::Passport => "PassportError",
        Family::Trust => "TrustError",
        Family::Constraint => "ConstraintError",
        Family::Attestation => "AttestationError",
        Family::Catalog => "CatalogError",
        Family::State => "StateError",
        Family::Input => "InvalidInputError",
    }
}

/// The one place a core error becomes a Python exception.
pub fn to_py_err(e: Error) -> PyErr {
    let code = e.code();
    let msg = format!("{}: {}", code.as_str(), e.detail());
    let err = match code.family() {
        Family::Canonicalization => CanonicalizationError::new_err(msg),
        Family::Key => ModeiKeyError::new_err(msg),
        Family::Passport => PassportError::new_err(msg),
        Family::Trust => TrustError::new_err(msg),
        Family::Constraint => ConstraintError::new_err(msg),
        Family::Attestation => AttestationError::new_err(msg),
        Family::Catalog => CatalogError::new_err(msg),
        Family::State => StateError::new_err(msg),
        Family::Input => InvalidInputError::new_err(msg),
    };
    Python::attach(|py| {
        let v = err.value(py);
        // Setting attributes on a fresh exception instance cannot fail in practice; if it
        // somehow did, the exception is still raised with the right class and message.
        let _ = v.setattr("code", code.as_str());
        let _ = v.setattr("detail", e.detail());
        let _ = v.setattr("family", code.family().as_str());
    });
    err
}

/// `result.or_raise()?` turns a core `Result` into a `PyResult` through [`to_py_err`].
pub trait OrRaise<T> {
    fn or_raise(self) -> PyResult<T>;
}

impl<T> OrRaise<T> for ::modei_core::Result<T> {
    fn or_raise(self) -> PyResult<T> {
        self.map_err(to_py_err)
    }
}

/// An `InvalidInputError` (`invalid_argument`) raised by the binding itself.
pub fn invalid_argument(detail: impl Into<String>) -> PyErr {
    to_py_err(Error::new(Code::InvalidArgument, detail))
}

/// The table of error codes: a list of `{"code", "family", "class", "meaning"}` dicts.
#[pyfunction]
fn error_codes(py: Python<'_>) -> PyResult<Vec<Bound<'_, PyDict>>> {
    Code::ALL
        .iter()
        .map(|c| {
            let d = PyDict::new(py);
            d.set_item("code", c.as_str())?;
            d.set_item("family", c.family().as_str())?;
            d.set_item("class", family_class_name(c.family()))?;
            d.set_item("meaning", c.meaning())?;
            Ok(d)
        })
        .collect()
}

/// Test hook: always raises the exception for `code` (with `detail`). Not part of the API.
#[pyfunction]
#[pyo3(signature = (code, detail = "raised for test"))]
fn _raise_for_test(code: &str, detail: &str) -> PyResult<()> {
    let code = Code::from_str_code(code)
        .ok_or_else(|| invalid_argument(format!("code: unknown error code {code:?}")))?;
    Err(to_py_err(Error::new(code, detail)))
}

#[pymodule(name = "_native")]
fn py_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("ModeiError", py.get_type::<ModeiError>())?;
    m.add(
        "CanonicalizationError",
        py.get_type::<CanonicalizationError>(),
    )?;
    m.add("ModeiKeyError", py.get_type::<ModeiKeyError>())?;
    m.add("PassportError", py.get_type::<PassportError>())?;
    m.add("TrustError", py.get_type::<TrustError>())?;
    m.add("ConstraintError", py.get_type::<ConstraintError>())?;
    m.add("AttestationError", py.get_type::<AttestationError>())?;
    m.add("CatalogError", py.get_type::<CatalogError>())?;
    m.add("StateError", py.get_type::<StateError>())?;
    m.add("InvalidInputError", py.get_type::<InvalidInputError>())?;
    m.add_function(wrap_pyfunction!(error_codes, m)?)?;
    m.add_function(wrap_pyfunction!(_raise_for_test, m)?)?;
    bind::register(m)?;
    bind::register_gate(m)?;
    bind::register_catalog(m)?;
    Ok(())
}
