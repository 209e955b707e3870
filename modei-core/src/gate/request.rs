//! The gate request, the request digest, proof of possession and operator approvals.

use crate::canonical;
use crate::error::{Code, Error, Result};
use crate::keys::{PublicKey, Signature, SigningKey};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The PoP purpose string.
pub const POP_PURPOSE: &str = "modei-pop/1";
/// The approval purpose string.
pub const APPROVAL_PURPOSE: &str = "modei-approval/1";
/// Largest metadata object (RFC 8785 bytes).
pub const MAX_METADATA_BYTES: usize = 64 * 1024;
/// Largest nonce, client id or action, in bytes.
pub const MAX_FIELD_BYTES: usize = 512;

/// One request to a gate. The JSON form has exactly these members (`passport` optional: a
/// compact JWT or an envelope wire pair, as a string).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateRequest {
    /// The passport in either wire form, or `None` (anonymous). Shared: a gate keeps a JWT it
    /// verified under these very bytes (its warm cache key) without copying them.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "shared_text"
    )]
    pub passport: Option<Arc<str>>,
    /// The action (permission key), e.g. `email:send`.
    pub action: String,
    /// The target: a URL, a domain or a resource string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// What the action costs, in integer cents.
    #[serde(default)]
    pub cost_cents: i64,
    /// Request metadata (a JSON object; `method`, `model`, `body`... see `docs/constraints.md`).
    #[serde(default = "empty_object")]
    pub metadata: Value,
    /// The request nonce (required at L2 and L3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The request time in Unix milliseconds (required at L2 and L3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    /// Proof of possession: unpadded base64url Ed25519 signature by the passport's agent key
    /// over [`pop_signing_input`] (required at L3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pop: Option<String>,
    /// The anonymous client id (host-supplied: API key hash, IP, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// An operator approval of an earlier hold of this same request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
}

/// `Option<Arc<str>>` written straight from the text the deserializer holds: one copy (going
/// through a `String` first copied a borrowed token twice; serde's own `Arc<str>` reader also
/// goes through a `Box<str>`, and is ~1 KB more of WebAssembly).
fn shared_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Arc<str>>, D::Error> {
    struct Text;
    impl<'de> serde::de::Visitor<'de> for Text {
        type Value = Option<Arc<str>>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a passport (string) or null")
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }
        fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
            Ok(Some(Arc::from(s)))
        }
    }
    d.deserialize_option(Text)
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

impl GateRequest {
    /// A request for `action` with no passport and no target.
    pub fn new(action: impl Into<String>) -> Self {
        GateRequest {
            action: action.into(),
            metadata: empty_object(),
            ..Default::default()
        }
    }

    /// Sets the passport (a copy of `p`; to share an `Arc<str>` already held, set the
    /// `passport` field).
    pub fn passport(mut self, p: impl AsRef<str>) -> Self {
        self.passport = Some(Arc::from(p.as_ref()));
        self
    }

    /// Sets the target.
    pub fn target(mut self, t: impl Into<String>) -> Self {
        self.target = Some(t.into());
        self
    }

    /// Sets the cost.
    pub fn cost(mut self, cents: i64) -> Self {
        self.cost_cents = cents;
        self
    }

    /// Sets the metadata.
    pub fn metadata(mut self, m: Value) -> Self {
        self.metadata = m;
        self
    }

    /// Sets nonce and timestamp.
    pub fn nonce(mut self, nonce: impl Into<String>, timestamp_ms: i64) -> Self {
        self.nonce = Some(nonce.into());
        self.timestamp = Some(timestamp_ms);
        self
    }

    /// Sets the client id.
    pub fn client(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    /// Reads the JSON form (`request_invalid` on anything else).
    pub fn from_json(bytes: &[u8]) -> Result<GateRequest> {
        let v = crate::json::parse_strict(bytes)
            .map_err(|e| Error::new(Code::RequestInvalid, e.detail().to_owned()))?;
        serde_json::from_value(v).map_err(|e| Error::new(Code::RequestInvalid, e.to_string()))
    }

    /// Checks the shape rules (`request_invalid`).
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::new(Code::RequestInvalid, m));
        if self.action.is_empty() || self.action.len() > MAX_FIELD_BYTES {
            return bad(format!("action must be 1..={MAX_FIELD_BYTES} bytes"));
        }
        if self
            .action
            .chars()
            .any(|c| c.is_control() || c.is_whitespace())
        {
            return bad("action has whitespace or control characters".into());
        }
        if !self.metadata.is_object() {
            return bad("metadata must be a JSON object".into());
        }
        if canonical::canonical_len(&self.metadata) > MAX_METADATA_BYTES {
            return bad(format!(
                "metadata is larger than {MAX_METADATA_BYTES} bytes"
            ));
        }
        for (name, f) in [("nonce", &self.nonce), ("client_id", &self.client_id)] {
            if let Some(s) = f {
                if s.is_empty() || s.len() > MAX_FIELD_BYTES || s.chars().any(char::is_control) {
                    return bad(format!(
                        "{name} must be 1..={MAX_FIELD_BYTES} bytes without control characters"
                    ));
                }
            }
        }
        if self.cost_cents < 0 {
            return bad(format!("cost_cents {} is negative", self.cost_cents));
        }
        Ok(())
    }
}

/// The request digest: hex SHA-256 of RFC 8785 of `{"action", "cost_cents", "gate_id",
/// "metadata", "passport_id", "target"}` (`target` canonical or null, `passport_id` null when
/// anonymous). Nonce, timestamp and PoP are not part of it, so a request re-presented with an
/// approval (and a fresh nonce) has the same digest as the one that was held.
pub fn request_digest(
    gate_id: &str,
    passport_id: Option<&str>,
    action: &str,
    target: Option<&str>,
    cost_cents: i64,
    metadata: &Value,
) -> String {
    // The canonical form written directly (keys already in RFC 8785 order), so the metadata
    // is not copied into a temporary object on every decision.
    fn opt(out: &mut Vec<u8>, s: Option<&str>) {
        match s {
            Some(s) => canonical::canonicalize_str_into(out, s),
            None => out.extend_from_slice(b"null"),
        }
    }
    // Room for the fixed text, the strings and a small metadata object: one allocation.
    let strings = gate_id.len() + action.len();
    let strings = strings + passport_id.map_or(0, str::len) + target.map_or(0, str::len);
    let mut out = Vec::with_capacity(256 + strings);
    out.extend_from_slice(b"{\"action\":");
    canonical::canonicalize_str_into(&mut out, action);
    out.extend_from_slice(b",\"cost_cents\":");
    canonical::canonicalize_into(&mut out, &Value::from(cost_cents));
    out.extend_from_slice(b",\"gate_id\":");
    canonical::canonicalize_str_into(&mut out, gate_id);
    out.extend_from_slice(b",\"metadata\":");
    canonical::canonicalize_into(&mut out, metadata);
    out.extend_from_slice(b",\"passport_id\":");
    opt(&mut out, passport_id);
    out.extend_from_slice(b",\"target\":");
    opt(&mut out, target);
    out.push(b'}');
    canonical::sha256_hex(&out)
}

/// The bytes an agent signs for a proof of possession: RFC 8785 of `{"purpose":
/// "modei-pop/1", "gate_id", "action", "target" (canonical or null), "cost_cents", "nonce",
/// "timestamp" (Unix ms), "request_digest"}`.
#[allow(clippy::too_many_arguments)]
pub fn pop_signing_input(
    gate_id: &str,
    action: &str,
    target: Option<&str>,
    cost_cents: i64,
    nonce: &str,
    timestamp_ms: i64,
    request_digest: &str,
) -> Vec<u8> {
    canonical::canonicalize(&json!({
        "purpose": POP_PURPOSE,
        "gate_id": gate_id,
        "action": action,
        "target": target,
        "cost_cents": cost_cents,
        "nonce": nonce,
        "timestamp": timestamp_ms,
        "request_digest": request_digest,
    }))
}

/// Signs a PoP for `req` (agent side): returns the unpadded base64url signature to put in
/// `req.pop`. `target` must be the request's canonical target (as the gate reports it); the
/// request must carry `nonce` and `timestamp`.
pub fn sign_pop(
    agent_key: &SigningKey,
    gate_id: &str,
    passport_id: &str,
    req: &GateRequest,
) -> Result<String> {
    let (Some(nonce), Some(ts)) = (&req.nonce, req.timestamp) else {
        return Err(Error::new(
            Code::InvalidArgument,
            "a PoP needs the request nonce and timestamp",
        ));
    };
    let target = match &req.target {
        Some(t) => Some(crate::target::Target::parse(t)?.as_str().to_owned()),
        None => None,
    };
    let digest = request_digest(
        gate_id,
        Some(passport_id),
        &req.action,
        target.as_deref(),
        req.cost_cents,
        &req.metadata,
    );
    let input = pop_signing_input(
        gate_id,
        &req.action,
        target.as_deref(),
        req.cost_cents,
        nonce,
        ts,
        &digest,
    );
    Ok(agent_key.sign(&input).to_base64url())
}

/// An operator's decision on a hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalDecision {
    /// Run the held action.
    Approved,
    /// Do not; release the reserved spend.
    Denied,
}

impl ApprovalDecision {
    /// `approved` / `denied`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalDecision::Approved => "approved",
            ApprovalDecision::Denied => "denied",
        }
    }
}

/// A signed operator approval (or denial) of one hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// The hold (`appr_...`).
    pub hold_id: String,
    /// The held request's digest.
    pub request_digest: String,
    /// `approved` or `denied`.
    pub decision: ApprovalDecision,
    /// The operator key that signed (a key id the gate trusts).
    pub operator_key_id: String,
    /// When the operator decided, Unix ms.
    pub timestamp: i64,
    /// Unpadded base64url Ed25519 signature over [`Approval::signing_input`].
    pub signature: String,
}

impl Approval {
    /// RFC 8785 of `{"purpose": "modei-approval/1", "hold_id", "request_digest", "decision",
    /// "operator_key_id", "timestamp"}`.
    pub fn signing_input(&self) -> Vec<u8> {
        canonical::canonicalize(&json!({
            "purpose": APPROVAL_PURPOSE,
            "hold_id": self.hold_id,
            "request_digest": self.request_digest,
            "decision": self.decision.as_str(),
            "operator_key_id": self.operator_key_id,
            "timestamp": self.timestamp,
        }))
    }

    /// Builds and signs an approval (operator side).
    pub fn sign(
        hold_id: &str,
        request_digest: &str,
        decision: ApprovalDecision,
        operator_key_id: &str,
        timestamp_ms: i64,
        key: &SigningKey,
    ) -> Approval {
        let mut a = Approval {
            hold_id: hold_id.to_owned(),
            request_digest: request_digest.to_owned(),
            decision,
            operator_key_id: operator_key_id.to_owned(),
            timestamp: timestamp_ms,
            signature: String::new(),
        };
        a.signature = key.sign(&a.signing_input()).to_base64url();
        a
    }

    /// Verifies the signature with `key` (`approval_invalid`).
    pub fn verify(&self, key: &PublicKey) -> Result<()> {
        let sig = Signature::from_base64url(&self.signature)
            .map_err(|e| Error::new(Code::ApprovalInvalid, format!("signature: {}", e.detail())))?;
        key.verify_strict(&self.signing_input(), &sig)
            .map_err(|e| Error::new(Code::ApprovalInvalid, format!("signature: {}", e.detail())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The piecewise canonical form equals RFC 8785 of the whole object.
    #[test]
    fn request_digest_is_the_content_hash_of_the_request_object() {
        let meta =
            json!({"z": [1, 2.5, "é\u{1F600}"], "a": {"\u{e9}": null, "b": true}, "n": 1e21});
        for (pid, target, cost) in [
            (Some("pp_1"), Some("https://api.example.com/x"), 25i64),
            (None, None, 0),
            (Some("pp \"quoted\"\n"), None, (1i64 << 60) + 1),
        ] {
            let want = canonical::content_hash(&json!({
                "action": "search:flights",
                "cost_cents": cost,
                "gate_id": "gate-\u{1}",
                "metadata": meta,
                "passport_id": pid,
                "target": target,
            }));
            let got = request_digest("gate-\u{1}", pid, "search:flights", target, cost, &meta);
            assert_eq!(got, want);
        }
    }

    /// The passport member reads the same from JSON text and from a `Value` (owned or
    /// borrowed): a string, `null` or absent; anything else is `request_invalid`.
    #[test]
    fn the_passport_member_is_a_string_or_null() {
        let read = |v: Value| {
            let text = GateRequest::from_json(v.to_string().as_bytes()).map(|r| r.passport);
            let borrowed = GateRequest::deserialize(&v).map(|r| r.passport).ok();
            let owned = serde_json::from_value::<GateRequest>(v)
                .map(|r| r.passport)
                .ok();
            assert_eq!(text.as_ref().ok(), borrowed.as_ref());
            assert_eq!(borrowed, owned);
            text
        };
        let tok = "eyJhbGciOiJFZERTQSJ9.e30.c2ln";
        assert_eq!(
            read(json!({"action": "a:b", "passport": tok})).unwrap(),
            Some(Arc::from(tok))
        );
        assert_eq!(
            read(json!({"action": "a:b", "passport": null})).unwrap(),
            None
        );
        assert_eq!(read(json!({"action": "a:b"})).unwrap(), None);
        for bad in [json!(7), json!(["x"]), json!({"t": "x"}), json!(true)] {
            let e = read(json!({"action": "a:b", "passport": bad})).unwrap_err();
            assert_eq!(e.code(), Code::RequestInvalid, "{e:?}");
        }
    }
}
