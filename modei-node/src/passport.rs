//! Passports (both wire forms), trust store, revocation list, verifier: one line per facade
//! function (`modei_core::api::{passport, trust}`). JSON results cross as JS objects.

use crate::keys::{JsPublicKey, JsSigningKey};
use crate::{bytes, json_arg, Input, OrThrow};
use modei_core::api::{self, passport as ap, trust as at};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde_json::Value;
use std::sync::Arc;

/// A time from JS: RFC 3339 text or Unix milliseconds.
pub type Time = Either<String, f64>;

pub fn time_value(t: &Time) -> Value {
    match t {
        Either::A(s) => Value::String(s.clone()),
        Either::B(n) => Value::from(*n as i64),
    }
}

pub fn now_of(t: Option<&Time>) -> Result<modei_core::time::Timestamp> {
    let mut o = serde_json::Map::new();
    if let Some(t) = t {
        o.insert("now".into(), time_value(t));
    }
    api::now_from(&Value::Object(o)).or_throw()
}

/// Decodes a passport of either form WITHOUT verifying anything.
#[napi(js_name = "_inspectPassport")]
pub fn inspect_passport(input: Input) -> Result<Value> {
    ap::inspect(bytes(&input)).or_throw()
}

/// Verifies a v2 envelope wire pair (`{"envelope"|"passport_json", "signature"}` JSON text).
#[napi(js_name = "_verifyEnvelope")]
pub fn verify_envelope(
    wire: Input,
    options: String,
    trust: Option<&JsTrustStore>,
) -> Result<Value> {
    let o = json_arg(&options, "options")?;
    ap::envelope_verify_wire(bytes(&wire), &o, trust.map(|t| &t.inner)).or_throw()
}

/// Verifies envelope JSON text and its detached signature (`null`: absent).
#[napi(js_name = "_verifyEnvelopeDetached")]
pub fn verify_envelope_detached(
    envelope: Input,
    signature: Option<String>,
    options: String,
    trust: Option<&JsTrustStore>,
) -> Result<Value> {
    let o = json_arg(&options, "options")?;
    ap::envelope_verify_text(
        bytes(&envelope),
        signature.as_deref(),
        &o,
        trust.map(|t| &t.inner),
    )
    .or_throw()
}

/// Self-issues a v2 envelope: the wire pair `{envelope, signature}`.
#[napi(js_name = "_selfIssueEnvelope")]
pub fn self_issue_envelope(key: &JsSigningKey, params: String) -> Result<Value> {
    ap::envelope_self_issue(&key.inner, &json_arg(&params, "params")?).or_throw()
}

/// Delegates a v2 envelope from `parentWire` to `childKey`: the child's wire pair.
#[napi(js_name = "_delegateEnvelope")]
pub fn delegate_envelope(
    parent_wire: String,
    parent_key: &JsSigningKey,
    child_key: &JsPublicKey,
    params: String,
    trust: Option<&JsTrustStore>,
) -> Result<Value> {
    let parent = json_arg(&parent_wire, "parent")?;
    ap::envelope_delegate(
        &parent,
        &parent_key.inner,
        &child_key.inner,
        &json_arg(&params, "params")?,
        trust.map(|t| &t.inner),
    )
    .or_throw()
}

/// Issues a passport JWT as trust store issuer `issuerId` with key `kid`.
#[napi(js_name = "_issueJwt")]
pub fn issue_jwt(
    key: &JsSigningKey,
    issuer_id: String,
    kid: String,
    params: String,
) -> Result<String> {
    ap::jwt_issue(&key.inner, &issuer_id, &kid, &json_arg(&params, "params")?).or_throw()
}

/// Self-issues a passport JWT.
#[napi(js_name = "_selfIssueJwt")]
pub fn self_issue_jwt(key: &JsSigningKey, params: String) -> Result<String> {
    ap::jwt_self_issue(&key.inner, &json_arg(&params, "params")?).or_throw()
}

/// Delegates a passport JWT.
#[napi(js_name = "_delegateJwt")]
pub fn delegate_jwt(
    parent_token: String,
    parent_key: &JsSigningKey,
    params: String,
) -> Result<String> {
    ap::jwt_delegate(
        &parent_token,
        &parent_key.inner,
        &json_arg(&params, "params")?,
    )
    .or_throw()
}

/// The issuer trust store (`docs/trust-store.md`).
#[napi(js_name = "TrustStore")]
pub struct JsTrustStore {
    pub(crate) inner: at::TrustStoreHandle,
}

#[napi]
impl JsTrustStore {
    /// An empty store.
    #[napi(constructor)]
    pub fn new() -> Self {
        JsTrustStore {
            inner: at::TrustStoreHandle::new(),
        }
    }

    /// From the trust store file's JSON text; `origin` (e.g. the path) prefixes error details.
    #[napi(factory, js_name = "_fromJson")]
    pub fn from_json(text: Input, origin: Option<String>) -> Result<Self> {
        let origin = origin.unwrap_or_else(|| "trust store".into());
        Ok(JsTrustStore {
            inner: at::TrustStoreHandle::from_json(bytes(&text), &origin).or_throw()?,
        })
    }

    /// Adds an issuer (the file's `issuers[]` item shape).
    #[napi(js_name = "_addIssuer")]
    pub fn add_issuer(&mut self, issuer: String) -> Result<()> {
        self.inner
            .add_issuer(&json_arg(&issuer, "issuer")?)
            .or_throw()
    }

    /// Removes an issuer; whether it was present.
    #[napi]
    pub fn remove_issuer(&mut self, id: String) -> bool {
        self.inner.remove_issuer(&id)
    }

    /// The issuer ids, sorted.
    #[napi(js_name = "_issuerIds")]
    pub fn issuer_ids(&self) -> Vec<String> {
        self.inner.issuer_ids()
    }

    /// Number of issuers.
    #[napi(getter)]
    pub fn size(&self) -> u32 {
        self.inner.len() as u32
    }

    /// The file text (deterministic).
    #[napi]
    pub fn to_json(&self) -> Result<String> {
        self.inner.to_json().or_throw()
    }

    /// The file as a plain object.
    #[napi(ts_return_type = "TrustStoreDocument")]
    pub fn to_object(&self) -> Result<Value> {
        self.inner.to_value().or_throw()
    }
}

impl Default for JsTrustStore {
    fn default() -> Self {
        Self::new()
    }
}

/// A revocation list that can change while verifiers use it.
#[napi(js_name = "RevocationList")]
pub struct JsRevocationList {
    pub(crate) inner: Arc<at::RevocationHandle>,
}

#[napi]
impl JsRevocationList {
    /// An empty list current as of `asOf` (RFC 3339 or Unix ms; default now).
    #[napi(constructor)]
    pub fn new(as_of: Option<Time>) -> Result<Self> {
        Ok(JsRevocationList {
            inner: Arc::new(at::RevocationHandle::new(now_of(as_of.as_ref())?)),
        })
    }

    /// From the revocation list JSON text.
    #[napi(factory, js_name = "_fromJson")]
    pub fn from_json(text: Input, origin: Option<String>) -> Result<Self> {
        let origin = origin.unwrap_or_else(|| "revocation list".into());
        Ok(JsRevocationList {
            inner: Arc::new(at::RevocationHandle::from_json(bytes(&text), &origin).or_throw()?),
        })
    }

    #[napi]
    pub fn revoke_passport(&self, passport_id: String) {
        self.inner.revoke_passport(&passport_id)
    }

    #[napi]
    pub fn revoke_agent(&self, agent_id: String) {
        self.inner.revoke_agent(&agent_id)
    }

    #[napi]
    pub fn revoke_issuer_key(&self, issuer_id: String, kid: String) {
        self.inner.revoke_issuer_key(&issuer_id, &kid)
    }

    /// Records a refresh at `at` (default now).
    #[napi]
    pub fn set_refreshed(&self, at: Option<Time>) -> Result<()> {
        self.inner.set_refreshed(now_of(at.as_ref())?);
        Ok(())
    }

    #[napi]
    pub fn to_json(&self) -> Result<String> {
        self.inner.to_json().or_throw()
    }

    #[napi]
    pub fn passport_revoked(&self, passport_id: String) -> bool {
        use modei_core::revocation::RevocationSource;
        self.inner.passport_revoked(&passport_id)
    }

    #[napi]
    pub fn agent_revoked(&self, agent_id: String) -> bool {
        use modei_core::revocation::RevocationSource;
        self.inner.agent_revoked(&agent_id)
    }

    #[napi]
    pub fn issuer_key_revoked(&self, issuer_id: String, kid: String) -> bool {
        use modei_core::revocation::RevocationSource;
        self.inner.issuer_key_revoked(&issuer_id, &kid)
    }
}

/// The passport verifier: trust store + policy + options + optional revocation list.
#[napi(js_name = "Verifier")]
pub struct JsVerifier {
    pub(crate) inner: Arc<at::VerifierHandle>,
}

#[napi]
impl JsVerifier {
    /// `config`: `{policy?, options?, trust_store?, revocation?}` or the policy/option members
    /// at the top level (`docs/api.md` § Verifier) as JSON text (the JS layer serialises).
    #[napi(constructor)]
    pub fn new(
        config: String,
        trust: Option<&JsTrustStore>,
        revocation: Option<&JsRevocationList>,
    ) -> Result<Self> {
        let cfg = json_arg(&config, "config")?;
        let rev = revocation
            .map(|r| r.inner.clone() as Arc<dyn modei_core::revocation::RevocationSource>);
        Ok(JsVerifier {
            inner: Arc::new(
                at::VerifierHandle::new(&cfg, trust.map(|t| &t.inner), rev).or_throw()?,
            ),
        })
    }

    /// Verifies a passport (compact JWT or envelope wire pair) at `now` (default: the clock).
    #[napi(js_name = "_verify", ts_return_type = "Passport")]
    pub fn verify(&self, input: Input, now: Option<Time>) -> Result<Value> {
        let now = now_of(now.as_ref())?;
        self.inner.verify(bytes(&input), now).or_throw()
    }

    /// Verifies many passports off the main thread: one `{ok: true, passport}` or
    /// `{ok: false, error: {code, family, detail}}` per input, in order.
    #[napi(js_name = "_verifyManyAsync", ts_return_type = "Promise<string>")]
    pub fn verify_many_async(
        &self,
        inputs: Vec<String>,
        now: Option<Time>,
    ) -> Result<AsyncTask<VerifyMany>> {
        let now = now_of(now.as_ref())?;
        Ok(AsyncTask::new(VerifyMany {
            verifier: self.inner.clone(),
            inputs,
            now,
        }))
    }

    /// Same, synchronously.
    #[napi(js_name = "_verifyMany", ts_return_type = "BatchResult<Passport>[]")]
    pub fn verify_many(&self, inputs: Vec<String>, now: Option<Time>) -> Result<Value> {
        let now = now_of(now.as_ref())?;
        Ok(batch(&self.inner, &inputs, now))
    }

    /// `{policy, options, issuers, revocation}`.
    #[napi]
    pub fn describe(&self) -> Value {
        self.inner.describe()
    }
}

fn batch(v: &at::VerifierHandle, inputs: &[String], now: modei_core::time::Timestamp) -> Value {
    Value::Array(
        inputs
            .iter()
            .map(|i| match v.verify(i.as_bytes(), now) {
                Ok(p) => serde_json::json!({"ok": true, "passport": p}),
                Err(e) => serde_json::json!({"ok": false, "error": api::error_json(&e)}),
            })
            .collect(),
    )
}

pub struct VerifyMany {
    verifier: Arc<at::VerifierHandle>,
    inputs: Vec<String>,
    now: modei_core::time::Timestamp,
}

impl Task for VerifyMany {
    type Output = String;
    type JsValue = String;
    fn compute(&mut self) -> Result<String> {
        Ok(batch(&self.verifier, &self.inputs, self.now).to_string())
    }
    fn resolve(&mut self, _env: Env, output: String) -> Result<String> {
        Ok(output)
    }
}
