//! Passports (both wire forms), trust store, revocation list, verifier
//! (`modei_core::api::{passport, trust}`); the same natives, names and semantics as
//! modei-node/src/passport.rs.

use crate::keys::{JsPublicKey, JsSigningKey};
use crate::{bytes_of, json_arg, json_to_js, now_of, opt_str_of, str_of, strings_of, OrThrow};
use modei_core::api::{self, passport as ap, trust as at};
use std::sync::Arc;
use wasm_bindgen::prelude::*;

/// Decodes a passport of either form WITHOUT verifying anything.
#[wasm_bindgen(js_name = _inspectPassport)]
pub fn inspect_passport(input: JsValue) -> Result<JsValue, JsError> {
    json_to_js(&ap::inspect(&bytes_of(&input, "passport")?).or_throw()?)
}

/// Verifies a v2 envelope wire pair.
#[wasm_bindgen(js_name = _verifyEnvelope)]
pub fn verify_envelope(
    wire: JsValue,
    options: JsValue,
    trust: Option<JsTrustStoreRef>,
) -> Result<JsValue, JsError> {
    let o = json_arg(&options, "options")?;
    let w = bytes_of(&wire, "wire")?;
    let t = trust_of(trust);
    json_to_js(&ap::envelope_verify_wire(&w, &o, t.as_deref()).or_throw()?)
}

/// Verifies envelope JSON text and its detached signature (`null`: absent).
#[wasm_bindgen(js_name = _verifyEnvelopeDetached)]
pub fn verify_envelope_detached(
    envelope: JsValue,
    signature: JsValue,
    options: JsValue,
    trust: Option<JsTrustStoreRef>,
) -> Result<JsValue, JsError> {
    let o = json_arg(&options, "options")?;
    let e = bytes_of(&envelope, "envelope")?;
    let signature = opt_str_of(&signature, "signature")?;
    let t = trust_of(trust);
    json_to_js(&ap::envelope_verify_text(&e, signature.as_deref(), &o, t.as_deref()).or_throw()?)
}

/// Self-issues a v2 envelope: the wire pair.
#[wasm_bindgen(js_name = _selfIssueEnvelope)]
pub fn self_issue_envelope(key: &JsSigningKey, params: JsValue) -> Result<JsValue, JsError> {
    json_to_js(&ap::envelope_self_issue(&key.inner, &json_arg(&params, "params")?).or_throw()?)
}

/// Delegates a v2 envelope: the child's wire pair.
#[wasm_bindgen(js_name = _delegateEnvelope)]
pub fn delegate_envelope(
    parent_wire: JsValue,
    parent_key: &JsSigningKey,
    child_key: &JsPublicKey,
    params: JsValue,
    trust: Option<JsTrustStoreRef>,
) -> Result<JsValue, JsError> {
    let parent = json_arg(&parent_wire, "parent")?;
    let t = trust_of(trust);
    json_to_js(
        &ap::envelope_delegate(
            &parent,
            &parent_key.inner,
            &child_key.inner,
            &json_arg(&params, "params")?,
            t.as_deref(),
        )
        .or_throw()?,
    )
}

#[wasm_bindgen(js_name = _issueJwt)]
pub fn issue_jwt(
    key: &JsSigningKey,
    issuer_id: JsValue,
    kid: JsValue,
    params: JsValue,
) -> Result<String, JsError> {
    let (issuer_id, kid) = (str_of(&issuer_id, "issuerId")?, str_of(&kid, "kid")?);
    ap::jwt_issue(&key.inner, &issuer_id, &kid, &json_arg(&params, "params")?).or_throw()
}

#[wasm_bindgen(js_name = _selfIssueJwt)]
pub fn self_issue_jwt(key: &JsSigningKey, params: JsValue) -> Result<String, JsError> {
    ap::jwt_self_issue(&key.inner, &json_arg(&params, "params")?).or_throw()
}

#[wasm_bindgen(js_name = _delegateJwt)]
pub fn delegate_jwt(
    parent_token: JsValue,
    parent_key: &JsSigningKey,
    params: JsValue,
) -> Result<String, JsError> {
    let parent_token = str_of(&parent_token, "parentToken")?;
    ap::jwt_delegate(
        &parent_token,
        &parent_key.inner,
        &json_arg(&params, "params")?,
    )
    .or_throw()
}

/// The issuer trust store.
#[wasm_bindgen(js_name = TrustStore)]
pub struct JsTrustStore {
    pub(crate) inner: Arc<at::TrustStoreHandle>,
}

/// A trust store passed where one is optional (wasm-bindgen has no `Option<&T>` for classes:
/// the JS layer passes the store or `undefined`; this clones the `Arc`, not the store).
pub type JsTrustStoreRef = JsTrustStore;

fn trust_of(t: Option<JsTrustStore>) -> Option<Arc<at::TrustStoreHandle>> {
    t.map(|t| t.inner.clone())
}

#[wasm_bindgen(js_class = TrustStore)]
impl JsTrustStore {
    #[wasm_bindgen(constructor)]
    pub fn new() -> JsTrustStore {
        JsTrustStore {
            inner: Arc::new(at::TrustStoreHandle::new()),
        }
    }

    #[wasm_bindgen(js_name = _fromJson)]
    pub fn from_json(text: JsValue, origin: JsValue) -> Result<JsTrustStore, JsError> {
        let origin = opt_str_of(&origin, "origin")?.unwrap_or_else(|| "trust store".into());
        Ok(JsTrustStore {
            inner: Arc::new(
                at::TrustStoreHandle::from_json(&bytes_of(&text, "trust store")?, &origin)
                    .or_throw()?,
            ),
        })
    }

    #[wasm_bindgen(js_name = _addIssuer)]
    pub fn add_issuer(&mut self, issuer: JsValue) -> Result<(), JsError> {
        Arc::make_mut(&mut self.inner)
            .add_issuer(&json_arg(&issuer, "issuer")?)
            .or_throw()
    }

    #[wasm_bindgen(js_name = removeIssuer)]
    pub fn remove_issuer(&mut self, id: JsValue) -> Result<bool, JsError> {
        let id = str_of(&id, "id")?;
        Ok(Arc::make_mut(&mut self.inner).remove_issuer(&id))
    }

    #[wasm_bindgen(js_name = _issuerIds)]
    pub fn issuer_ids(&self) -> Vec<String> {
        self.inner.issuer_ids()
    }

    #[wasm_bindgen(getter)]
    pub fn size(&self) -> u32 {
        self.inner.len() as u32
    }

    #[wasm_bindgen(js_name = toJson)]
    pub fn to_json(&self) -> Result<String, JsError> {
        self.inner.to_json().or_throw()
    }

    #[wasm_bindgen(js_name = toObject)]
    pub fn to_object(&self) -> Result<JsValue, JsError> {
        json_to_js(&self.inner.to_value().or_throw()?)
    }

    /// A second handle on the same store (used by the JS layer to pass it by value).
    #[wasm_bindgen(js_name = _share)]
    pub fn share(&self) -> JsTrustStore {
        JsTrustStore {
            inner: self.inner.clone(),
        }
    }
}

impl Default for JsTrustStore {
    fn default() -> Self {
        Self::new()
    }
}

/// A revocation list that can change while verifiers use it.
#[wasm_bindgen(js_name = RevocationList)]
pub struct JsRevocationList {
    pub(crate) inner: Arc<at::RevocationHandle>,
}

#[wasm_bindgen(js_class = RevocationList)]
impl JsRevocationList {
    #[wasm_bindgen(constructor)]
    pub fn new(as_of: JsValue) -> Result<JsRevocationList, JsError> {
        Ok(JsRevocationList {
            inner: Arc::new(at::RevocationHandle::new(now_of(&as_of)?)),
        })
    }

    #[wasm_bindgen(js_name = _fromJson)]
    pub fn from_json(text: JsValue, origin: JsValue) -> Result<JsRevocationList, JsError> {
        let origin = opt_str_of(&origin, "origin")?.unwrap_or_else(|| "revocation list".into());
        Ok(JsRevocationList {
            inner: Arc::new(
                at::RevocationHandle::from_json(&bytes_of(&text, "revocation list")?, &origin)
                    .or_throw()?,
            ),
        })
    }

    #[wasm_bindgen(js_name = revokePassport)]
    pub fn revoke_passport(&self, passport_id: JsValue) -> Result<(), JsError> {
        self.inner
            .revoke_passport(&str_of(&passport_id, "passport_id")?);
        Ok(())
    }

    #[wasm_bindgen(js_name = revokeAgent)]
    pub fn revoke_agent(&self, agent_id: JsValue) -> Result<(), JsError> {
        self.inner.revoke_agent(&str_of(&agent_id, "agent_id")?);
        Ok(())
    }

    #[wasm_bindgen(js_name = revokeIssuerKey)]
    pub fn revoke_issuer_key(&self, issuer_id: JsValue, kid: JsValue) -> Result<(), JsError> {
        self.inner
            .revoke_issuer_key(&str_of(&issuer_id, "issuerId")?, &str_of(&kid, "kid")?);
        Ok(())
    }

    #[wasm_bindgen(js_name = setRefreshed)]
    pub fn set_refreshed(&self, at: JsValue) -> Result<(), JsError> {
        self.inner.set_refreshed(now_of(&at)?);
        Ok(())
    }

    #[wasm_bindgen(js_name = toJson)]
    pub fn to_json(&self) -> Result<String, JsError> {
        self.inner.to_json().or_throw()
    }

    #[wasm_bindgen(js_name = passportRevoked)]
    pub fn passport_revoked(&self, passport_id: JsValue) -> Result<bool, JsError> {
        use modei_core::revocation::RevocationSource;
        Ok(self
            .inner
            .passport_revoked(&str_of(&passport_id, "passportId")?))
    }

    #[wasm_bindgen(js_name = agentRevoked)]
    pub fn agent_revoked(&self, agent_id: JsValue) -> Result<bool, JsError> {
        use modei_core::revocation::RevocationSource;
        Ok(self.inner.agent_revoked(&str_of(&agent_id, "agentId")?))
    }

    #[wasm_bindgen(js_name = issuerKeyRevoked)]
    pub fn issuer_key_revoked(&self, issuer_id: JsValue, kid: JsValue) -> Result<bool, JsError> {
        use modei_core::revocation::RevocationSource;
        Ok(self
            .inner
            .issuer_key_revoked(&str_of(&issuer_id, "issuerId")?, &str_of(&kid, "kid")?))
    }

    #[wasm_bindgen(js_name = _share)]
    pub fn share(&self) -> JsRevocationList {
        JsRevocationList {
            inner: self.inner.clone(),
        }
    }
}

/// The passport verifier.
#[wasm_bindgen(js_name = Verifier)]
pub struct JsVerifier {
    inner: at::VerifierHandle,
}

#[wasm_bindgen(js_class = Verifier)]
impl JsVerifier {
    #[wasm_bindgen(constructor)]
    pub fn new(
        config: JsValue,
        trust: Option<JsTrustStore>,
        revocation: Option<JsRevocationList>,
    ) -> Result<JsVerifier, JsError> {
        let cfg = json_arg(&config, "config")?;
        let rev = revocation
            .map(|r| r.inner.clone() as Arc<dyn modei_core::revocation::RevocationSource>);
        let t = trust_of(trust);
        Ok(JsVerifier {
            inner: at::VerifierHandle::new(&cfg, t.as_deref(), rev).or_throw()?,
        })
    }

    #[wasm_bindgen(js_name = _verify)]
    pub fn verify(&self, input: JsValue, now: JsValue) -> Result<JsValue, JsError> {
        let now = now_of(&now)?;
        json_to_js(
            &self
                .inner
                .verify(&bytes_of(&input, "passport")?, now)
                .or_throw()?,
        )
    }

    #[wasm_bindgen(js_name = _verifyMany)]
    pub fn verify_many(&self, inputs: JsValue, now: JsValue) -> Result<JsValue, JsError> {
        let inputs = strings_of(&inputs, "passports")?;
        let now = now_of(&now)?;
        let out: Vec<serde_json::Value> = inputs
            .iter()
            .map(|i| match self.inner.verify(i.as_bytes(), now) {
                Ok(p) => serde_json::json!({"ok": true, "passport": p}),
                Err(e) => serde_json::json!({"ok": false, "error": api::error_json(&e)}),
            })
            .collect();
        json_to_js(&serde_json::Value::Array(out))
    }

    pub fn describe(&self) -> Result<JsValue, JsError> {
        json_to_js(&self.inner.describe())
    }
}
