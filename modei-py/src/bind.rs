//! The Python classes and functions: thin wrappers over `modei_core::api`.

use crate::conv::{bytes_arg, json_arg, json_text_arg, time_arg, value_to_py};
use crate::{invalid_argument, OrRaise};
use ::modei_core::api::{
    self,
    trust::{RevocationHandle, TrustStoreHandle, VerifierHandle},
};
use ::modei_core::revocation::RevocationSource;
use ::modei_core::time::Timestamp;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple};
use serde_json::Value;
use std::sync::Arc;

fn set_opt(m: &mut serde_json::Map<String, Value>, k: &str, v: Option<Value>) {
    if let Some(v) = v {
        m.insert(k.into(), v);
    }
}

fn kwargs_value(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Value> {
    match kwargs {
        None => Ok(Value::Object(Default::default())),
        Some(d) => crate::conv::py_to_value(d.as_any()),
    }
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/// An Ed25519 signing key. Not picklable (it is a secret); export it explicitly.
#[pyclass(module = "modei_core", frozen)]
pub struct SigningKey {
    pub(crate) inner: ::modei_core::keys::SigningKey,
}

#[pymethods]
impl SigningKey {
    /// A fresh key from the operating system's RNG.
    #[staticmethod]
    fn generate() -> PyResult<Self> {
        Ok(SigningKey {
            inner: api::keys::signing_key_generate().or_raise()?,
        })
    }

    /// From a 32-byte seed (`bytes`).
    #[staticmethod]
    fn from_seed(seed: &Bound<'_, PyAny>) -> PyResult<Self> {
        let b = bytes_arg(seed, "seed")?;
        Ok(SigningKey {
            inner: api::keys::signing_key_import("seed", &b).or_raise()?,
        })
    }

    /// Imports from `format`: seed, seed_base64, seed_base64url, seed_hex, jwk, pem, credentials.
    #[staticmethod]
    #[pyo3(name = "import_key")]
    fn import_key(format: &str, data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let b = if format == "jwk" {
            json_text_arg(data, "data")?
        } else {
            bytes_arg(data, "data")?
        };
        Ok(SigningKey {
            inner: api::keys::signing_key_import(format, &b).or_raise()?,
        })
    }

    #[staticmethod]
    fn from_seed_base64(s: &str) -> PyResult<Self> {
        Self::imp("seed_base64", s.as_bytes())
    }
    #[staticmethod]
    fn from_seed_base64url(s: &str) -> PyResult<Self> {
        Self::imp("seed_base64url", s.as_bytes())
    }
    #[staticmethod]
    fn from_seed_hex(s: &str) -> PyResult<Self> {
        Self::imp("seed_hex", s.as_bytes())
    }
    #[staticmethod]
    fn from_pem(s: &str) -> PyResult<Self> {
        Self::imp("pem", s.as_bytes())
    }
    #[staticmethod]
    fn from_credentials(s: &str) -> PyResult<Self> {
        Self::imp("credentials", s.as_bytes())
    }
    /// From a private JWK (`dict` or JSON text).
    #[staticmethod]
    fn from_jwk(jwk: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(SigningKey {
            inner: api::keys::signing_key_from_jwk(&json_arg(jwk, "jwk")?).or_raise()?,
        })
    }

    /// The public half.
    #[getter]
    fn public_key(&self) -> PublicKey {
        PublicKey {
            inner: self.inner.public_key(),
        }
    }

    /// The 32-byte seed.
    fn seed<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.seed().as_slice())
    }

    /// Exports: seed_base64, seed_base64url, seed_hex, pem (str) or jwk (dict).
    fn export<'py>(&self, py: Python<'py>, format: &str) -> PyResult<Bound<'py, PyAny>> {
        value_to_py(
            py,
            &api::keys::signing_key_export(&self.inner, format).or_raise()?,
        )
    }
    fn to_seed_base64(&self) -> String {
        self.inner.to_seed_base64().to_string()
    }
    fn to_seed_base64url(&self) -> String {
        self.inner.to_seed_base64url().to_string()
    }
    fn to_seed_hex(&self) -> String {
        self.inner.to_seed_hex().to_string()
    }
    fn to_pem(&self) -> String {
        self.inner.to_pkcs8_pem().to_string()
    }
    /// The private JWK `{"kty","crv","x","d","kid"}`.
    fn to_jwk<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        value_to_py(py, &self.inner.to_jwk_private())
    }
    /// A credentials file (Modei's format) for this key.
    fn to_credentials(&self, created_at: &Bound<'_, PyAny>) -> PyResult<String> {
        let t =
            time_arg(Some(created_at))?.ok_or_else(|| invalid_argument("created_at: required"))?;
        api::keys::credentials_create(&self.inner, &t).or_raise()
    }

    /// Raw Ed25519 signature (64 bytes) over `message` (`bytes` or `str` as UTF-8).
    fn sign<'py>(
        &self,
        py: Python<'py>,
        message: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let m = bytes_arg(message, "message")?;
        let key = &self.inner;
        let sig = py.detach(|| api::keys::sign(key, &m));
        Ok(PyBytes::new(py, &sig))
    }

    fn __repr__(&self) -> String {
        format!(
            "SigningKey(public_key={:?})",
            self.inner.public_key().to_base64()
        )
    }
    fn __reduce__(&self) -> PyResult<()> {
        Err(pyo3::exceptions::PyTypeError::new_err(
            "SigningKey is not picklable (it is a secret); export it with to_seed_base64() or to_pem()",
        ))
    }
}

impl SigningKey {
    fn imp(format: &str, b: &[u8]) -> PyResult<Self> {
        Ok(SigningKey {
            inner: api::keys::signing_key_import(format, b).or_raise()?,
        })
    }
}

/// An Ed25519 public key. Immutable, hashable, picklable.
#[pyclass(module = "modei_core", frozen, eq, hash)]
#[derive(PartialEq, Eq, Hash, Clone)]
pub struct PublicKey {
    pub(crate) inner: ::modei_core::keys::PublicKey,
}

#[pymethods]
impl PublicKey {
    /// Parses any text form (PEM, JWK JSON, hex, base64, base64url), or 32 raw `bytes`.
    #[new]
    fn py_new(key: &Bound<'_, PyAny>) -> PyResult<Self> {
        if key.is_instance_of::<PyBytes>() {
            return Self::imp("raw", &bytes_arg(key, "key")?);
        }
        if key.is_instance_of::<PyDict>() {
            return Self::from_jwk(key);
        }
        Self::imp("any", &bytes_arg(key, "key")?)
    }
    #[staticmethod]
    fn import_key(format: &str, data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let b = if format == "jwk" {
            json_text_arg(data, "data")?
        } else {
            bytes_arg(data, "data")?
        };
        Self::imp(format, &b)
    }
    #[staticmethod]
    fn from_bytes(b: &Bound<'_, PyAny>) -> PyResult<Self> {
        Self::imp("raw", &bytes_arg(b, "key")?)
    }
    #[staticmethod]
    fn from_base64(s: &str) -> PyResult<Self> {
        Self::imp("base64", s.as_bytes())
    }
    #[staticmethod]
    fn from_base64url(s: &str) -> PyResult<Self> {
        Self::imp("base64url", s.as_bytes())
    }
    #[staticmethod]
    fn from_hex(s: &str) -> PyResult<Self> {
        Self::imp("hex", s.as_bytes())
    }
    #[staticmethod]
    fn from_pem(s: &str) -> PyResult<Self> {
        Self::imp("pem", s.as_bytes())
    }
    #[staticmethod]
    fn parse(s: &str) -> PyResult<Self> {
        Self::imp("any", s.as_bytes())
    }
    #[staticmethod]
    fn from_jwk(jwk: &Bound<'_, PyAny>) -> PyResult<Self> {
        Self::imp("jwk", &json_text_arg(jwk, "jwk")?)
    }

    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.bytes())
    }
    fn to_base64(&self) -> String {
        self.inner.to_base64()
    }
    fn to_base64url(&self) -> String {
        self.inner.to_base64url()
    }
    fn to_hex(&self) -> String {
        self.inner.to_hex()
    }
    fn to_pem(&self) -> String {
        self.inner.to_spki_pem()
    }
    fn to_jwk<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        value_to_py(py, &self.inner.to_jwk())
    }
    fn export<'py>(&self, py: Python<'py>, format: &str) -> PyResult<Bound<'py, PyAny>> {
        value_to_py(
            py,
            &api::keys::public_key_export(&self.inner, format).or_raise()?,
        )
    }
    /// RFC 7638 JWK thumbprint.
    #[getter]
    fn thumbprint(&self) -> String {
        self.inner.thumbprint()
    }
    /// `agent_self_...` derived from the key.
    #[getter]
    fn agent_id(&self) -> String {
        self.inner.self_agent_id()
    }
    /// `self:<hex>` derived from the key.
    #[getter]
    fn self_issuer_id(&self) -> String {
        self.inner.self_issuer_id()
    }
    /// `sha256:<hex>` realtime fingerprint.
    #[getter]
    fn fingerprint(&self) -> String {
        self.inner.realtime_fingerprint()
    }
    /// Everything derived from the key, as a dict.
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        value_to_py(py, &api::keys::public_key_info(&self.inner))
    }

    /// Strict Ed25519 verification; raises `ModeiKeyError` (`signature_invalid`...) on failure.
    /// `signature`: 64 raw bytes, or text (hex / base64 / base64url).
    fn verify(
        &self,
        py: Python<'_>,
        message: &Bound<'_, PyAny>,
        signature: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let m = bytes_arg(message, "message")?;
        let sig = sig_arg(signature)?;
        let k = &self.inner;
        py.detach(|| api::keys::verify(k, &m, &sig)).or_raise()
    }
    /// Like `verify`, as a bool (malformed signatures are `False`).
    fn is_valid(
        &self,
        py: Python<'_>,
        message: &Bound<'_, PyAny>,
        signature: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let m = bytes_arg(message, "message")?;
        let Ok(sig) = sig_arg(signature) else {
            return Ok(false);
        };
        let k = &self.inner;
        Ok(py.detach(|| api::keys::verify(k, &m, &sig)).is_ok())
    }

    fn __repr__(&self) -> String {
        format!("PublicKey({:?})", self.inner.to_base64())
    }
    fn __str__(&self) -> String {
        self.inner.to_base64()
    }
    fn __bytes__<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        self.to_bytes(py)
    }
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let py = slf.py();
        let cls = slf.get_type().getattr("from_bytes")?;
        Ok((cls, (PyBytes::new(py, slf.get().inner.bytes()),)))
    }
}

impl PublicKey {
    fn imp(format: &str, b: &[u8]) -> PyResult<Self> {
        Ok(PublicKey {
            inner: api::keys::public_key_import(format, b).or_raise()?,
        })
    }
}

fn sig_arg(signature: &Bound<'_, PyAny>) -> PyResult<::modei_core::keys::Signature> {
    let is_text = signature.is_instance_of::<PyString>();
    let b = bytes_arg(signature, "signature")?;
    api::keys::signature_from(&b, is_text).or_raise()
}

fn pubkey_arg(obj: &Bound<'_, PyAny>) -> PyResult<::modei_core::keys::PublicKey> {
    if let Ok(k) = obj.cast::<PublicKey>() {
        return Ok(k.get().inner.clone());
    }
    PublicKey::py_new(obj).map(|k| k.inner)
}

/// Raw strict verification: 32-byte key (or any key form / PublicKey), message, signature.
#[pyfunction]
pub fn verify_signature(
    py: Python<'_>,
    public_key: &Bound<'_, PyAny>,
    message: &Bound<'_, PyAny>,
    signature: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let k = pubkey_arg(public_key)?;
    let m = bytes_arg(message, "message")?;
    let s = sig_arg(signature)?;
    py.detach(|| api::keys::verify(&k, &m, &s)).or_raise()
}

/// Loads a credentials file: `(SigningKey, {"agent_id", "created_at", "public_key"})`.
#[pyfunction]
pub fn load_credentials<'py>(
    py: Python<'py>,
    text: &Bound<'py, PyAny>,
) -> PyResult<(SigningKey, Bound<'py, PyAny>)> {
    let b = bytes_arg(text, "text")?;
    let s = std::str::from_utf8(&b).map_err(|_| invalid_argument("text: not UTF-8"))?;
    let (k, info) = api::keys::credentials_load(s).or_raise()?;
    Ok((SigningKey { inner: k }, value_to_py(py, &info)?))
}

/// Ids derived from 32 raw key bytes (no point decoding).
#[pyfunction]
pub fn derive_ids<'py>(
    py: Python<'py>,
    raw_key: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    value_to_py(py, &api::keys::derive_ids(&bytes_arg(raw_key, "raw_key")?))
}

// ---------------------------------------------------------------------------------------------
// Canonical JSON
// ---------------------------------------------------------------------------------------------

/// RFC 8785 canonical form of a JSON value (`dict`/`list`/...) or JSON text (`str`/`bytes`).
#[pyfunction]
pub fn canonicalize(value: &Bound<'_, PyAny>) -> PyResult<String> {
    let b = if value.is_instance_of::<PyString>() || value.is_instance_of::<PyBytes>() {
        api::canonical::canonicalize(&bytes_arg(value, "value")?).or_raise()?
    } else {
        api::canonical::canonicalize_value(&crate::conv::py_to_value(value)?)
    };
    String::from_utf8(b).map_err(|_| invalid_argument("canonical form is not UTF-8"))
}

/// Lowercase hex SHA-256 of the canonical form.
#[pyfunction]
pub fn content_hash(value: &Bound<'_, PyAny>) -> PyResult<String> {
    if value.is_instance_of::<PyString>() || value.is_instance_of::<PyBytes>() {
        api::canonical::content_hash(&bytes_arg(value, "value")?).or_raise()
    } else {
        Ok(api::canonical::content_hash_value(
            &crate::conv::py_to_value(value)?,
        ))
    }
}

/// Strict JSON parse (duplicate keys refused): the same reader signed material uses.
#[pyfunction]
pub fn parse_json<'py>(py: Python<'py>, text: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    value_to_py(py, &api::parse_json(&bytes_arg(text, "text")?).or_raise()?)
}

// ---------------------------------------------------------------------------------------------
// Trust store, revocation, verifier
// ---------------------------------------------------------------------------------------------

/// Issuers and their keys (`docs/trust-store.md`). Build in code or load the JSON file.
#[pyclass(module = "modei_core")]
#[derive(Clone)]
pub struct TrustStore {
    pub(crate) inner: TrustStoreHandle,
}

#[pymethods]
impl TrustStore {
    #[new]
    #[pyo3(signature = (issuers = None))]
    fn py_new(issuers: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let mut t = TrustStore {
            inner: TrustStoreHandle::new(),
        };
        if let Some(list) = issuers.filter(|x| !x.is_none()) {
            for i in list.try_iter()? {
                t.add_issuer(&i?)?;
            }
        }
        Ok(t)
    }
    /// From the file (`str`/`bytes` JSON text, or a `dict`).
    #[staticmethod]
    #[pyo3(signature = (data, origin = "trust_store"))]
    fn from_json(data: &Bound<'_, PyAny>, origin: &str) -> PyResult<Self> {
        let b = json_text_arg(data, "data")?;
        Ok(TrustStore {
            inner: TrustStoreHandle::from_json(&b, origin).or_raise()?,
        })
    }
    /// Adds an issuer: `{"id","type","name"?,"tier"?,"keys":[{"kid","jwk"|"public_key",...}]}`.
    /// A key may also be given as a `PublicKey` under "public_key".
    fn add_issuer(&mut self, issuer: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut v = json_arg(issuer, "issuer")?;
        let _ = &mut v;
        self.inner.add_issuer(&v).or_raise()
    }
    fn remove_issuer(&mut self, issuer_id: &str) -> bool {
        self.inner.remove_issuer(issuer_id)
    }
    #[getter]
    fn issuer_ids(&self) -> Vec<String> {
        self.inner.issuer_ids()
    }
    fn __len__(&self) -> usize {
        self.inner.len()
    }
    fn __contains__(&self, id: &str) -> bool {
        self.inner.store().issuer(id).is_some()
    }
    /// The file text (deterministic).
    fn to_json(&self) -> PyResult<String> {
        self.inner.to_json().or_raise()
    }
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        value_to_py(py, &self.inner.to_value().or_raise()?)
    }
    fn __repr__(&self) -> String {
        format!("TrustStore(issuers={:?})", self.inner.issuer_ids())
    }
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        let f = slf.get_type().getattr("from_json")?;
        Ok((f, (slf.borrow().inner.to_json().or_raise()?,)))
    }
}

/// An in-memory revocation list, shared with the verifiers that use it (changes apply at once).
#[pyclass(module = "modei_core", frozen)]
pub struct RevocationList {
    pub(crate) inner: Arc<RevocationHandle>,
}

#[pymethods]
impl RevocationList {
    #[new]
    #[pyo3(signature = (as_of = None))]
    fn py_new(as_of: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let t = api::time_or_now(time_arg(as_of)?.as_ref()).or_raise()?;
        Ok(RevocationList {
            inner: Arc::new(RevocationHandle::new(t)),
        })
    }
    #[staticmethod]
    #[pyo3(signature = (data, origin = "revocation"))]
    fn from_json(data: &Bound<'_, PyAny>, origin: &str) -> PyResult<Self> {
        let b = json_text_arg(data, "data")?;
        Ok(RevocationList {
            inner: Arc::new(RevocationHandle::from_json(&b, origin).or_raise()?),
        })
    }
    fn revoke_passport(&self, passport_id: &str) {
        self.inner.revoke_passport(passport_id)
    }
    fn revoke_agent(&self, agent_id: &str) {
        self.inner.revoke_agent(agent_id)
    }
    fn revoke_issuer_key(&self, issuer_id: &str, kid: &str) {
        self.inner.revoke_issuer_key(issuer_id, kid)
    }
    #[pyo3(signature = (at = None))]
    fn set_refreshed(&self, at: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        self.inner
            .set_refreshed(api::time_or_now(time_arg(at)?.as_ref()).or_raise()?);
        Ok(())
    }
    fn passport_revoked(&self, id: &str) -> bool {
        self.inner.passport_revoked(id)
    }
    fn agent_revoked(&self, id: &str) -> bool {
        self.inner.agent_revoked(id)
    }
    fn issuer_key_revoked(&self, issuer_id: &str, kid: &str) -> bool {
        self.inner.issuer_key_revoked(issuer_id, kid)
    }
    fn to_json(&self) -> PyResult<String> {
        self.inner.to_json().or_raise()
    }
    fn __repr__(&self) -> String {
        "RevocationList(...)".into()
    }
}

/// A revocation source implemented in Python (see `RevocationSource` in the stubs). Any
/// exception or non-bool answer counts as *revoked* (fail closed); a failing
/// `last_refreshed` counts as never refreshed.
struct PyRevocation(Py<PyAny>);

impl PyRevocation {
    fn ask(
        &self,
        method: &str,
        args: impl for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyTuple>>,
    ) -> bool {
        Python::attach(|py| {
            args(py)
                .and_then(|a| self.0.bind(py).call_method1(method, a))
                .and_then(|r| r.extract::<bool>())
                .unwrap_or(true)
        })
    }
}

impl RevocationSource for PyRevocation {
    fn passport_revoked(&self, id: &str) -> bool {
        self.ask("passport_revoked", |py| PyTuple::new(py, [id]))
    }
    fn agent_revoked(&self, id: &str) -> bool {
        self.ask("agent_revoked", |py| PyTuple::new(py, [id]))
    }
    fn issuer_key_revoked(&self, issuer_id: &str, kid: &str) -> bool {
        self.ask("issuer_key_revoked", |py| {
            PyTuple::new(py, [issuer_id, kid])
        })
    }
    fn last_refreshed(&self) -> Timestamp {
        Python::attach(|py| {
            let r = self.0.bind(py).call_method0("last_refreshed");
            r.ok()
                .and_then(|r| time_arg(Some(&r)).ok().flatten())
                .and_then(|v| api::parse_time(&v, "last_refreshed").ok())
                .unwrap_or(Timestamp::from_unix_millis(0))
        })
    }
}

pub(crate) fn revocation_arg(
    obj: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<Arc<dyn RevocationSource>>> {
    let Some(o) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    if let Ok(r) = o.cast::<RevocationList>() {
        return Ok(Some(r.get().inner.clone() as Arc<dyn RevocationSource>));
    }
    if o.is_instance_of::<PyDict>()
        || o.is_instance_of::<PyString>()
        || o.is_instance_of::<PyBytes>()
    {
        let b = json_text_arg(o, "revocation")?;
        return Ok(Some(Arc::new(
            RevocationHandle::from_json(&b, "revocation").or_raise()?,
        )));
    }
    for m in [
        "passport_revoked",
        "agent_revoked",
        "issuer_key_revoked",
        "last_refreshed",
    ] {
        if !o.hasattr(m)? {
            return Err(invalid_argument(format!("revocation: object lacks {m}()")));
        }
    }
    Ok(Some(Arc::new(PyRevocation(o.clone().unbind()))))
}

pub(crate) fn trust_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<TrustStoreHandle>> {
    let Some(o) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    if let Ok(t) = o.cast::<TrustStore>() {
        return Ok(Some(t.borrow().inner.clone()));
    }
    let b = json_text_arg(o, "trust_store")?;
    Ok(Some(
        TrustStoreHandle::from_json(&b, "trust_store").or_raise()?,
    ))
}

/// Verifies passports of both wire forms. Thread-safe; verification releases the GIL.
#[pyclass(module = "modei_core", frozen)]
pub struct Verifier {
    inner: VerifierHandle,
}

#[pymethods]
impl Verifier {
    /// `Verifier(trust_store=None, *, revocation=None, **config)` where config holds policy
    /// (`allow_self_issued`, `min_tier`, `allowed_issuers`) and options (`gate_id`, `leeway_ms`,
    /// `accept_eddsa`, `max_token_bytes`, `max_envelope_bytes`, `revocation_freshness`).
    #[new]
    #[pyo3(signature = (trust_store = None, *, revocation = None, **config))]
    fn py_new(
        trust_store: Option<&Bound<'_, PyAny>>,
        revocation: Option<&Bound<'_, PyAny>>,
        config: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let t = trust_arg(trust_store)?;
        let r = revocation_arg(revocation)?;
        let c = kwargs_value(config)?;
        Ok(Verifier {
            inner: VerifierHandle::new(&c, t.as_ref(), r).or_raise()?,
        })
    }

    /// Verifies a passport (JWT text, envelope wire pair as text/bytes/dict) at `now`
    /// (default: the clock). Returns the passport dict; raises `PassportError`/`TrustError`.
    #[pyo3(signature = (passport, now = None))]
    fn verify<'py>(
        &self,
        py: Python<'py>,
        passport: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let b = json_text_arg(passport, "passport")?;
        let t = api::time_or_now(time_arg(now)?.as_ref()).or_raise()?;
        let h = &self.inner;
        let v = py.detach(|| h.verify(&b, t)).or_raise()?;
        value_to_py(py, &v)
    }

    /// The effective policy and options.
    fn describe<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        value_to_py(py, &self.inner.describe())
    }
    fn __repr__(&self) -> String {
        format!("Verifier({})", self.inner.describe())
    }
}

impl Verifier {
    #[allow(dead_code)]
    pub(crate) fn handle(&self) -> &VerifierHandle {
        &self.inner
    }
}

// ---------------------------------------------------------------------------------------------
// Passports: envelopes and JWTs
// ---------------------------------------------------------------------------------------------

/// Decodes a passport of either form WITHOUT verifying it.
#[pyfunction]
pub fn inspect_passport<'py>(
    py: Python<'py>,
    passport: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    value_to_py(
        py,
        &api::passport::inspect(&json_text_arg(passport, "passport")?).or_raise()?,
    )
}

/// Verifies a v2 envelope: `envelope` is a wire pair (text/bytes/dict) when `signature` is
/// omitted, else the envelope itself (text parsed exactly as given, or a dict).
#[pyfunction]
#[pyo3(signature = (envelope, signature = None, *, detached = false, now = None, leeway_ms = None, trust_store = None))]
#[allow(clippy::too_many_arguments)]
pub fn verify_envelope<'py>(
    py: Python<'py>,
    envelope: &Bound<'py, PyAny>,
    signature: Option<&Bound<'py, PyAny>>,
    detached: bool,
    now: Option<&Bound<'py, PyAny>>,
    leeway_ms: Option<i64>,
    trust_store: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let none = py.None().into_bound(py);
    let signature = match signature {
        Some(s) if !s.is_none() => Some(s),
        _ if detached => Some(&none),
        _ => None,
    };
    let mut o = serde_json::Map::new();
    set_opt(&mut o, "now", time_arg(now)?);
    set_opt(&mut o, "leeway_ms", leeway_ms.map(Value::from));
    let opts = Value::Object(o);
    let trust = trust_arg(trust_store)?;
    let trust = trust.as_ref();
    let v = match signature {
        None => {
            let b = json_text_arg(envelope, "envelope")?;
            py.detach(|| api::passport::envelope_verify_wire(&b, &opts, trust))
        }
        Some(sig) => {
            let sig: Option<String> = if sig.is_none() {
                None
            } else {
                sig.cast::<PyString>().ok().map(|s| s.to_string())
            };
            // A non-string signature is treated as absent (`signature_malformed`), as the reference does.
            if envelope.is_instance_of::<PyString>() || envelope.is_instance_of::<PyBytes>() {
                let b = bytes_arg(envelope, "envelope")?;
                py.detach(|| api::passport::envelope_verify_text(&b, sig.as_deref(), &opts, trust))
            } else {
                let v = crate::conv::py_to_value(envelope)?;
                py.detach(|| api::passport::envelope_verify_value(&v, sig.as_deref(), &opts, trust))
            }
        }
    }
    .or_raise()?;
    value_to_py(py, &v)
}

fn key_ref(k: &Bound<'_, SigningKey>) -> ::modei_core::keys::SigningKey {
    k.get().inner.clone()
}

/// Self-issues a v2 envelope; returns the wire pair dict `{"envelope", "signature"}`.
#[pyfunction]
#[pyo3(signature = (key, **params))]
pub fn envelope_self_issue<'py>(
    py: Python<'py>,
    key: &Bound<'py, SigningKey>,
    params: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let p = params_value(params)?;
    let k = key_ref(key);
    value_to_py(
        py,
        &py.detach(|| api::passport::envelope_self_issue(&k, &p))
            .or_raise()?,
    )
}

/// Delegates a v2 envelope from `parent` (wire pair) to `child_key`; returns the child's pair.
#[pyfunction]
#[pyo3(signature = (parent, parent_key, child_key, *, trust_store = None, **params))]
pub fn envelope_delegate<'py>(
    py: Python<'py>,
    parent: &Bound<'py, PyAny>,
    parent_key: &Bound<'py, SigningKey>,
    child_key: &Bound<'py, PyAny>,
    trust_store: Option<&Bound<'py, PyAny>>,
    params: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let parent = json_arg(parent, "parent")?;
    let child = pubkey_arg(child_key)?;
    let p = params_value(params)?;
    let k = key_ref(parent_key);
    let trust = trust_arg(trust_store)?;
    let r = py
        .detach(|| api::passport::envelope_delegate(&parent, &k, &child, &p, trust.as_ref()))
        .or_raise()?;
    value_to_py(py, &r)
}

/// Issues a passport JWT as a trust store issuer.
#[pyfunction]
#[pyo3(signature = (key, issuer_id, kid, **params))]
pub fn jwt_issue(
    py: Python<'_>,
    key: &Bound<'_, SigningKey>,
    issuer_id: &str,
    kid: &str,
    params: Option<&Bound<'_, PyDict>>,
) -> PyResult<String> {
    let p = params_value(params)?;
    let k = key_ref(key);
    py.detach(|| api::passport::jwt_issue(&k, issuer_id, kid, &p))
        .or_raise()
}

/// Self-issues a passport JWT.
#[pyfunction]
#[pyo3(signature = (key, **params))]
pub fn jwt_self_issue(
    py: Python<'_>,
    key: &Bound<'_, SigningKey>,
    params: Option<&Bound<'_, PyDict>>,
) -> PyResult<String> {
    let p = params_value(params)?;
    let k = key_ref(key);
    py.detach(|| api::passport::jwt_self_issue(&k, &p))
        .or_raise()
}

/// Delegates a passport JWT from `parent_token` to `params["agent_key"]`.
#[pyfunction]
#[pyo3(signature = (parent_token, parent_key, **params))]
pub fn jwt_delegate(
    py: Python<'_>,
    parent_token: &str,
    parent_key: &Bound<'_, SigningKey>,
    params: Option<&Bound<'_, PyDict>>,
) -> PyResult<String> {
    let p = params_value(params)?;
    let k = key_ref(parent_key);
    py.detach(|| api::passport::jwt_delegate(parent_token, &k, &p))
        .or_raise()
}

/// kwargs → JSON, with PublicKey / datetime values converted.
fn params_value(params: Option<&Bound<'_, PyDict>>) -> PyResult<Value> {
    let mut m = serde_json::Map::new();
    if let Some(d) = params {
        for (k, v) in d.iter() {
            let k: String = k.extract()?;
            if v.is_none() {
                continue;
            }
            let val = if let Ok(pk) = v.cast::<PublicKey>() {
                Value::String(pk.get().inner.to_base64())
            } else if matches!(
                k.as_str(),
                "issued_at" | "expires_at" | "not_before" | "now"
            ) {
                time_arg(Some(&v))?.unwrap_or(Value::Null)
            } else {
                crate::conv::py_to_value(&v)?
            };
            m.insert(k, val);
        }
    }
    Ok(Value::Object(m))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<SigningKey>()?;
    m.add_class::<PublicKey>()?;
    m.add_class::<TrustStore>()?;
    m.add_class::<RevocationList>()?;
    m.add_class::<Verifier>()?;
    m.add_function(wrap_pyfunction!(verify_signature, m)?)?;
    m.add_function(wrap_pyfunction!(load_credentials, m)?)?;
    m.add_function(wrap_pyfunction!(derive_ids, m)?)?;
    m.add_function(wrap_pyfunction!(canonicalize, m)?)?;
    m.add_function(wrap_pyfunction!(content_hash, m)?)?;
    m.add_function(wrap_pyfunction!(parse_json, m)?)?;
    m.add_function(wrap_pyfunction!(inspect_passport, m)?)?;
    m.add_function(wrap_pyfunction!(verify_envelope, m)?)?;
    m.add_function(wrap_pyfunction!(envelope_self_issue, m)?)?;
    m.add_function(wrap_pyfunction!(envelope_delegate, m)?)?;
    m.add_function(wrap_pyfunction!(jwt_issue, m)?)?;
    m.add_function(wrap_pyfunction!(jwt_self_issue, m)?)?;
    m.add_function(wrap_pyfunction!(jwt_delegate, m)?)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Gate
// ---------------------------------------------------------------------------------------------

use ::modei_core::api::gate::{GateHandle, GateHooks};
use ::modei_core::gate::{Hold, HoldNotifier, HoldOutcome};

/// An approval notifier implemented in Python: `on_hold(hold: dict)` and optionally
/// `on_resolved(hold: dict, outcome: str)`. Exceptions are swallowed (a hold that is never
/// delivered simply expires), so a broken notifier never changes a decision.
struct PyNotifier(Py<PyAny>);

impl HoldNotifier for PyNotifier {
    fn on_hold(&self, hold: &Hold) {
        Python::attach(|py| {
            if let Ok(h) = value_to_py(py, &api::gate::hold_json(hold)) {
                if let Err(e) = self.0.bind(py).call_method1("on_hold", (h,)) {
                    e.write_unraisable(py, Some(self.0.bind(py)));
                }
            }
        })
    }
    fn on_resolved(&self, hold: &Hold, outcome: HoldOutcome) {
        Python::attach(|py| {
            let o = self.0.bind(py);
            if !o.hasattr("on_resolved").unwrap_or(false) {
                return;
            }
            if let Ok(h) = value_to_py(py, &api::gate::hold_json(hold)) {
                if let Err(e) =
                    o.call_method1("on_resolved", (h, api::gate::hold_outcome_str(outcome)))
                {
                    e.write_unraisable(py, Some(o));
                }
            }
        })
    }
}

/// A PII detector implemented in Python: `detect(text: str) -> str | None` (the kind found).
/// An exception counts as PII found (`"detector_error"`): the export is refused (fail closed).
struct PyPii(Py<PyAny>);

const PII_KINDS: &[&str] = &[
    "email",
    "card",
    "credit_card",
    "ssn",
    "phone",
    "iban",
    "address",
    "name",
    "ip",
    "passport",
    "custom",
];

impl ::modei_core::constraints::PiiDetector for PyPii {
    fn detect(&self, text: &str) -> Option<&'static str> {
        Python::attach(|py| match self.0.bind(py).call_method1("detect", (text,)) {
            Err(_) => Some("detector_error"),
            Ok(r) if r.is_none() => None,
            Ok(r) => {
                let s: String = r.extract().unwrap_or_else(|_| "custom".into());
                Some(
                    PII_KINDS
                        .iter()
                        .copied()
                        .find(|k| *k == s)
                        .unwrap_or("custom"),
                )
            }
        })
    }
}

fn now_arg(now: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Timestamp>> {
    match time_arg(now)? {
        None => Ok(None),
        Some(v) => Ok(Some(api::parse_time(&v, "now").or_raise()?)),
    }
}

/// A gate: `Gate(config, *, revocation=None, notifier=None, pii_detector=None, log_path=None)`.
/// Thread-safe: share one across threads; `check` releases the GIL.
#[pyclass(module = "modei_core", frozen, name = "Gate")]
pub struct PyGate {
    inner: GateHandle,
}

enum Req {
    Text(Vec<u8>),
    Value(Value),
}

fn request_arg(
    request: Option<&Bound<'_, PyAny>>,
    fields: Option<&Bound<'_, PyDict>>,
) -> PyResult<Req> {
    match (
        request.filter(|r| !r.is_none()),
        fields.filter(|f| !f.is_empty()),
    ) {
        (Some(r), None) => {
            if r.is_instance_of::<PyString>() || r.is_instance_of::<PyBytes>() {
                Ok(Req::Text(bytes_arg(r, "request")?))
            } else {
                Ok(Req::Value(crate::conv::py_to_value(r)?))
            }
        }
        (None, Some(f)) => Ok(Req::Value(crate::conv::py_to_value(f.as_any())?)),
        (Some(r), Some(f)) => {
            let mut v = crate::conv::py_to_value(r)?;
            if let (Value::Object(m), Value::Object(extra)) =
                (&mut v, crate::conv::py_to_value(f.as_any())?)
            {
                m.extend(extra);
            }
            Ok(Req::Value(v))
        }
        (None, None) => Err(invalid_argument(
            "request: give a request dict or keyword fields (action=...)",
        )),
    }
}

#[pymethods]
impl PyGate {
    #[new]
    #[pyo3(signature = (config, *, revocation = None, notifier = None, pii_detector = None, log_path = None))]
    fn py_new(
        config: &Bound<'_, PyAny>,
        revocation: Option<&Bound<'_, PyAny>>,
        notifier: Option<&Bound<'_, PyAny>>,
        pii_detector: Option<&Bound<'_, PyAny>>,
        log_path: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut cfg = json_arg(config, "config")?;
        // A TrustStore object may stand for the trust_store member.
        if let Some(Ok(ts)) = config
            .cast::<PyDict>()
            .ok()
            .and_then(|d| d.get_item("trust_store").ok().flatten())
            .map(|t| t.cast_into::<TrustStore>())
        {
            if let Value::Object(m) = &mut cfg {
                m.insert(
                    "trust_store".into(),
                    ts.borrow().inner.to_value().or_raise()?,
                );
            }
        }
        let mut hooks = GateHooks {
            revocation: revocation_arg(revocation)?,
            ..Default::default()
        };
        // `"redis": {"url": ...}` in the config: replicas share state through Redis.
        if let Some(store) = modei_redis::take_from_gate_config(&mut cfg).or_raise()? {
            hooks.state = Some(store);
        }
        if let Some(n) = notifier.filter(|n| !n.is_none()) {
            if !n.hasattr("on_hold")? {
                return Err(invalid_argument("notifier: object lacks on_hold(hold)"));
            }
            hooks.notifier = Some(Arc::new(PyNotifier(n.clone().unbind())));
        }
        if let Some(p) = pii_detector.filter(|n| !n.is_none()) {
            if !p.hasattr("detect")? {
                return Err(invalid_argument("pii_detector: object lacks detect(text)"));
            }
            hooks.pii = Some(Arc::new(PyPii(p.clone().unbind())));
        }
        if let Some(p) = log_path.filter(|n| !n.is_none()) {
            let s = p.py().import("os")?.call_method1("fspath", (p,))?;
            hooks.log_path = Some(s.extract()?);
        }
        let py = config.py();
        let inner = py.detach(|| GateHandle::new(&cfg, hooks)).or_raise()?;
        Ok(PyGate { inner })
    }

    #[getter]
    fn gate_id(&self) -> &str {
        self.inner.gate_id()
    }

    /// Checks a request; returns the decision dict. `block` is a result, not an exception.
    #[pyo3(signature = (request = None, *, now = None, **fields))]
    fn check<'py>(
        &self,
        py: Python<'py>,
        request: Option<&Bound<'py, PyAny>>,
        now: Option<&Bound<'py, PyAny>>,
        fields: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let req = request_arg(request, fields)?;
        let now = now_arg(now)?;
        let g = &self.inner;
        let v = py
            .detach(|| match &req {
                Req::Text(b) => g.check_json(b, now),
                Req::Value(v) => g.check(v, now),
            })
            .or_raise()?;
        value_to_py(py, &v)
    }

    /// Runs the pipeline and changes nothing.
    #[pyo3(signature = (request = None, *, now = None, **fields))]
    fn dry_run<'py>(
        &self,
        py: Python<'py>,
        request: Option<&Bound<'py, PyAny>>,
        now: Option<&Bound<'py, PyAny>>,
        fields: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let req = request_arg(request, fields)?;
        let now = now_arg(now)?;
        let g = &self.inner;
        let v = py
            .detach(|| match &req {
                Req::Text(b) => api::parse_json(b)
                    .map_err(|e| {
                        ::modei_core::Error::new(
                            ::modei_core::Code::RequestInvalid,
                            e.detail().to_owned(),
                        )
                    })
                    .and_then(|v| g.dry_run(&v, now)),
                Req::Value(v) => g.dry_run(v, now),
            })
            .or_raise()?;
        value_to_py(py, &v)
    }

    /// An operator denies a hold out of band (a signed approval with decision "denied").
    #[pyo3(signature = (approval, *, now = None))]
    fn deny_hold<'py>(
        &self,
        py: Python<'py>,
        approval: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let a = json_arg(approval, "approval")?;
        let now = now_arg(now)?;
        let g = &self.inner;
        value_to_py(py, &py.detach(|| g.deny_hold(&a, now)).or_raise()?)
    }

    fn pending_holds<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        value_to_py(py, &self.inner.pending_holds())
    }

    #[pyo3(signature = (now = None))]
    fn expire_holds<'py>(
        &self,
        py: Python<'py>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let now = now_arg(now)?;
        let g = &self.inner;
        value_to_py(py, &py.detach(|| g.expire_holds(now)).or_raise()?)
    }

    #[pyo3(signature = (at = None))]
    fn heartbeat(&self, at: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        self.inner.heartbeat(now_arg(at)?).or_raise()
    }

    /// `{"gate_id","key_id","public_key"}` or None.
    #[getter]
    fn attestation_key<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        value_to_py(py, &self.inner.attestation_key())
    }

    /// The in-memory attestation log as JSON Lines bytes (None with a file log).
    fn export_log<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.inner.export_log().map(|b| PyBytes::new(py, &b))
    }

    #[getter]
    fn log_len(&self) -> u64 {
        self.inner.log_len()
    }
    #[getter]
    fn cached_passports(&self) -> usize {
        self.inner.cached_passports()
    }
    fn __repr__(&self) -> String {
        format!("Gate(gate_id={:?})", self.inner.gate_id())
    }
}

/// Operator side: a signed approval of a hold.
#[pyfunction]
#[pyo3(signature = (key, **params))]
pub fn sign_approval<'py>(
    py: Python<'py>,
    key: &Bound<'py, SigningKey>,
    params: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let p = params_value(params)?;
    value_to_py(
        py,
        &api::gate::sign_approval(&key.get().inner, &p).or_raise()?,
    )
}

/// Agent side: the proof of possession for `request` (unpadded base64url).
#[pyfunction]
pub fn sign_pop(
    key: &Bound<'_, SigningKey>,
    gate_id: &str,
    passport_id: &str,
    request: &Bound<'_, PyAny>,
) -> PyResult<String> {
    api::gate::sign_pop(
        &key.get().inner,
        gate_id,
        passport_id,
        &json_arg(request, "request")?,
    )
    .or_raise()
}

/// The request digest a gate computes for `request`.
#[pyfunction]
#[pyo3(signature = (gate_id, passport_id, request))]
pub fn request_digest(
    gate_id: &str,
    passport_id: Option<&str>,
    request: &Bound<'_, PyAny>,
) -> PyResult<String> {
    api::gate::request_digest(gate_id, passport_id, &json_arg(request, "request")?).or_raise()
}

// ---------------------------------------------------------------------------------------------
// Attestations
// ---------------------------------------------------------------------------------------------

/// Reads a Python file object (`.read(n)` → bytes) or an iterable of bytes/str chunks,
/// re-acquiring the GIL only to fetch each chunk.
struct PyReader {
    obj: Py<PyAny>,
    is_file: bool,
    pending: Vec<u8>,
    pos: usize,
    done: bool,
}

impl std::io::Read for PyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.pending.len() {
            if self.done {
                return Ok(0);
            }
            let next: PyResult<Option<Vec<u8>>> = Python::attach(|py| {
                let o = self.obj.bind(py);
                let chunk = if self.is_file {
                    o.call_method1("read", (1usize << 16,))?
                } else {
                    match o.call_method0("__next__") {
                        Ok(c) => c,
                        Err(e) if e.is_instance_of::<pyo3::exceptions::PyStopIteration>(py) => {
                            return Ok(None)
                        }
                        Err(e) => return Err(e),
                    }
                };
                let b = bytes_arg(&chunk, "log chunk")?;
                Ok(if self.is_file && b.is_empty() {
                    None
                } else {
                    Some(b)
                })
            });
            match next {
                Ok(Some(b)) => {
                    self.pending = b;
                    self.pos = 0;
                }
                Ok(None) => self.done = true,
                Err(e) => return Err(std::io::Error::other(e.to_string())),
            }
        }
        let n = buf.len().min(self.pending.len() - self.pos);
        buf[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn checkpoints_arg(cps: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Value>> {
    let mut out = Vec::new();
    if let Some(c) = cps.filter(|c| !c.is_none()) {
        for x in c.try_iter()? {
            out.push(json_arg(&x?, "checkpoint")?);
        }
    }
    Ok(out)
}

/// Verifies an attestation log, streaming. `source`: a path (`str`/`os.PathLike`; read from
/// disk without the GIL), log `bytes`, a binary file object, or an iterable of lines/chunks.
/// `gate_keys`: `[{"gate_id","key_id","public_key"}]`. Returns the report dict.
#[pyfunction]
#[pyo3(signature = (source, gate_keys, *, checkpoints = None))]
pub fn verify_log<'py>(
    py: Python<'py>,
    source: &Bound<'py, PyAny>,
    gate_keys: &Bound<'py, PyAny>,
    checkpoints: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let keys = json_arg(gate_keys, "gate_keys")?;
    let cps = checkpoints_arg(checkpoints)?;
    let v = if source.is_instance_of::<PyBytes>()
        || source.is_instance_of::<pyo3::types::PyByteArray>()
    {
        let b = bytes_arg(source, "log")?;
        py.detach(|| api::attestation::verify_log_bytes(&b, &keys, &cps))
    } else if source.is_instance_of::<PyString>() || source.hasattr("__fspath__")? {
        let path: String = py
            .import("os")?
            .call_method1("fspath", (source,))?
            .extract()?;
        py.detach(|| api::attestation::verify_log_file(&path, &keys, &cps))
    } else {
        let is_file = source.hasattr("read")?;
        let obj = if is_file {
            source.clone().unbind()
        } else {
            source.try_iter()?.into_any().unbind()
        };
        let mut r = std::io::BufReader::with_capacity(
            1 << 16,
            PyReader {
                obj,
                is_file,
                pending: Vec::new(),
                pos: 0,
                done: false,
            },
        );
        py.detach(|| api::attestation::verify_log(&mut r, &keys, &cps))
    }
    .or_raise()?;
    value_to_py(py, &v)
}

/// Verifies one attestation record's signature (not its chain position); returns the record.
#[pyfunction]
pub fn verify_attestation<'py>(
    py: Python<'py>,
    record: &Bound<'py, PyAny>,
    gate_keys: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let b = json_text_arg(record, "record")?;
    let keys = json_arg(gate_keys, "gate_keys")?;
    value_to_py(
        py,
        &py.detach(|| api::attestation::verify_record(&b, &keys))
            .or_raise()?,
    )
}

/// Verifies a checkpoint's signature; returns the checkpoint.
#[pyfunction]
pub fn verify_checkpoint<'py>(
    py: Python<'py>,
    checkpoint: &Bound<'py, PyAny>,
    gate_keys: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let b = json_text_arg(checkpoint, "checkpoint")?;
    let keys = json_arg(gate_keys, "gate_keys")?;
    value_to_py(
        py,
        &py.detach(|| api::attestation::verify_checkpoint(&b, &keys))
            .or_raise()?,
    )
}

pub fn register_gate(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyGate>()?;
    m.add_function(wrap_pyfunction!(sign_approval, m)?)?;
    m.add_function(wrap_pyfunction!(sign_pop, m)?)?;
    m.add_function(wrap_pyfunction!(request_digest, m)?)?;
    m.add_function(wrap_pyfunction!(verify_log, m)?)?;
    m.add_function(wrap_pyfunction!(verify_attestation, m)?)?;
    m.add_function(wrap_pyfunction!(verify_checkpoint, m)?)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Catalogs
// ---------------------------------------------------------------------------------------------

/// Verifies a published catalog (hash and signature); returns it as a dict.
#[pyfunction]
pub fn verify_catalog<'py>(
    py: Python<'py>,
    catalog: &Bound<'py, PyAny>,
    gate_keys: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let b = json_text_arg(catalog, "catalog")?;
    let keys = json_arg(gate_keys, "gate_keys")?;
    value_to_py(
        py,
        &py.detach(|| api::catalog::verify(&b, &keys)).or_raise()?,
    )
}

/// What changed between two published catalogs, with `breaking` flags.
#[pyfunction]
pub fn diff_catalogs<'py>(
    py: Python<'py>,
    old: &Bound<'py, PyAny>,
    new: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let a = json_text_arg(old, "old")?;
    let b = json_text_arg(new, "new")?;
    value_to_py(py, &api::catalog::diff_json(&a, &b).or_raise()?)
}

/// A gate's published catalogs, for pin checks.
#[pyclass(module = "modei_core", frozen)]
pub struct CatalogSet {
    inner: api::catalog::CatalogSetHandle,
}

#[pymethods]
impl CatalogSet {
    #[new]
    fn py_new(
        gate_id: &str,
        catalogs: &Bound<'_, PyAny>,
        gate_keys: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let mut cats = Vec::new();
        for c in catalogs.try_iter()? {
            cats.push(json_arg(&c?, "catalog")?);
        }
        let keys = json_arg(gate_keys, "gate_keys")?;
        Ok(CatalogSet {
            inner: api::catalog::CatalogSetHandle::new(gate_id, &cats, &keys).or_raise()?,
        })
    }
    /// Checks a pin `{"gate_id","version","content_hash"?}`: `{"version","content_hash"}` of the
    /// pinned catalog, or `CatalogError` (`catalog_pin_unknown`, `catalog_pin_incompatible`).
    fn check_pin<'py>(
        &self,
        py: Python<'py>,
        pin: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        value_to_py(
            py,
            &self.inner.check_pin(&json_arg(pin, "pin")?).or_raise()?,
        )
    }
    #[getter]
    fn current_version(&self) -> Option<u64> {
        self.inner.current_version()
    }
    fn __repr__(&self) -> String {
        format!(
            "CatalogSet(current_version={:?})",
            self.inner.current_version()
        )
    }
}

pub fn register_catalog(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<CatalogSet>()?;
    m.add_function(wrap_pyfunction!(verify_catalog, m)?)?;
    m.add_function(wrap_pyfunction!(diff_catalogs, m)?)?;
    Ok(())
}
