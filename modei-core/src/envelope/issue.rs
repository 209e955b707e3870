//! Issuing v2 envelopes: self-issue and delegation, byte-identical to Modei's SDKs.
//!
//! Both builders refuse, before returning, anything our verifier would reject: they run the full
//! verifier over what they signed at the issuance time. So a passport we hand out always verifies.

use super::model::{Envelope, SignedEnvelope};
use super::verify::{verify_value, IssuerKeyResolver, VerifyOptions};
use super::{MAX_CANONICAL_ENVELOPE_BYTES, MAX_DELEGATION_DEPTH, SCHEMA_VERSION};
use crate::canonical::canonicalize;
use crate::envelope::model::{IssuerType, Permission};
use crate::error::{Code, Error, Result};
use crate::keys::{PublicKey, SigningKey};
use crate::time::Timestamp;
use serde_json::{json, Map, Value};

/// Inputs for a self-issued passport (the SDK's `PassportIssuer.self_issue`).
#[derive(Debug, Clone)]
pub struct SelfIssue {
    /// `passport_id`. The SDK writes `pp_self_` + 32 hex digits of a random UUID; see
    /// [`new_passport_id`].
    pub passport_id: String,
    /// `identity.agent_name` (the SDK's identity claim).
    pub agent_name: Option<String>,
    /// Granted permissions, in order.
    pub permissions: Vec<Permission>,
    /// `issued_at`.
    pub issued_at: Timestamp,
    /// `expires_at`.
    pub expires_at: Timestamp,
    /// May this passport delegate?
    pub delegation_authority: bool,
    /// Reserved evidence list (`[]` by default).
    pub verification_evidence: Vec<Value>,
}

/// A fresh passport id: `prefix` + 32 lowercase hex digits from the OS RNG (a UUIDv4 without
/// dashes, as the SDKs write). `prefix` is `pp_self_` or `pp_delegate_`.
#[cfg(feature = "os-rng")]
pub fn new_passport_id(prefix: &str) -> Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| Error::new(Code::RngUnavailable, e.to_string()))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Ok(format!("{prefix}{}", crate::encoding::hex_encode(&b)))
}

fn permissions_json(perms: &[Permission]) -> Value {
    Value::Array(
        perms
            .iter()
            .map(|p| json!({"permission_key": p.permission_key, "constraints": Value::Object(Map::clone(&p.constraints))}))
            .collect(),
    )
}

fn sign_envelope(
    key: &SigningKey,
    json: Value,
    verify_at: Timestamp,
    resolver: Option<&dyn IssuerKeyResolver>,
) -> Result<SignedEnvelope> {
    let bytes = canonicalize(&json);
    if bytes.len() > MAX_CANONICAL_ENVELOPE_BYTES {
        return Err(Error::new(
            Code::EnvelopeTooLarge,
            format!("canonical envelope is {} bytes; the signer's limit is {MAX_CANONICAL_ENVELOPE_BYTES}", bytes.len()),
        ));
    }
    let signature = key.sign(&bytes).to_base64();
    // Prove it verifies before handing it out.
    let opts = VerifyOptions {
        resolver,
        ..VerifyOptions::at(verify_at)
    };
    let verified = verify_value(&json, Some(&signature), &opts)?;
    Ok(verified.signed)
}

impl SelfIssue {
    /// Builds and signs the envelope with the agent's own key.
    pub fn sign(&self, key: &SigningKey) -> Result<SignedEnvelope> {
        let pk = key.public_key();
        let json = json!({
            "schema_version": SCHEMA_VERSION,
            "passport_id": self.passport_id,
            "identity": {
                "agent_id": pk.self_agent_id(),
                "agent_name": self.agent_name,
                "public_key": pk.to_base64(),
            },
            "permissions": permissions_json(&self.permissions),
            "provenance": {
                "issuer": {"type": "self", "id": pk.self_issuer_id(), "key_id": "self"},
                "gate_id": null,
                "catalog_content_hash": null,
                "catalog_version": null,
                "delegation_chain": null,
                "issued_at": self.issued_at.to_rfc3339_millis()?,
                "expires_at": self.expires_at.to_rfc3339_millis()?,
            },
            "delegation_authority": self.delegation_authority,
            "verification_evidence": self.verification_evidence,
        });
        sign_envelope(key, json, self.issued_at, None)
    }
}

/// Builds a delegated passport (the SDK's `DelegationBuilder`), signed with the parent's key.
#[derive(Clone)]
pub struct DelegationBuilder<'a> {
    parent: &'a SignedEnvelope,
    resolver: Option<&'a dyn IssuerKeyResolver>,
    child_key: PublicKey,
    passport_id: String,
    permissions: Vec<Permission>,
    issued_at: Timestamp,
    expires_at: Option<Timestamp>,
    agent_name: Option<String>,
    delegation_authority: bool,
    verification_evidence: Vec<Value>,
}

impl<'a> DelegationBuilder<'a> {
    /// Starts a delegation from `parent` to the agent holding `child_key`.
    pub fn new(
        parent: &'a SignedEnvelope,
        child_key: PublicKey,
        passport_id: String,
        issued_at: Timestamp,
    ) -> Self {
        DelegationBuilder {
            parent,
            resolver: None,
            child_key,
            passport_id,
            permissions: Vec::new(),
            issued_at,
            expires_at: None,
            agent_name: None,
            delegation_authority: false,
            verification_evidence: Vec::new(),
        }
    }

    /// The trust store holding the root's key, needed when the chain is rooted in a platform or
    /// gate passport (the builder verifies what it signs).
    pub fn trust(mut self, resolver: &'a dyn IssuerKeyResolver) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// The delegated permissions (a subset of the parent's, constraints only tighter).
    pub fn permissions(mut self, p: Vec<Permission>) -> Self {
        self.permissions = p;
        self
    }

    /// Requested expiry; clamped to the earliest expiry of the chain (as the SDK does).
    pub fn expires_at(mut self, t: Timestamp) -> Self {
        self.expires_at = Some(t);
        self
    }

    /// The child's display name.
    pub fn agent_name(mut self, name: Option<String>) -> Self {
        self.agent_name = name;
        self
    }

    /// Whether the child may delegate further.
    pub fn delegation_authority(mut self, yes: bool) -> Self {
        self.delegation_authority = yes;
        self
    }

    /// Reserved evidence list.
    pub fn verification_evidence(mut self, ev: Vec<Value>) -> Self {
        self.verification_evidence = ev;
        self
    }

    /// The expiry the child will get: the requested one clamped to every ancestor's.
    pub fn effective_expires_at(&self) -> Result<Timestamp> {
        let mut earliest = Timestamp::parse_rfc3339(&self.parent.envelope.expires_at)?;
        for link in self.parent.envelope.delegation_chain.iter().flatten() {
            earliest = earliest.min(Timestamp::parse_rfc3339(&link.envelope.expires_at)?);
        }
        Ok(self.expires_at.map_or(earliest, |t| t.min(earliest)))
    }

    /// Signs the child with the parent's key. Refuses anything the verifier would reject, with the
    /// verifier's own code (e.g. `permission_elevation_in_chain`).
    pub fn sign(self, parent_key: &SigningKey) -> Result<SignedEnvelope> {
        let parent = &self.parent.envelope;
        let fail = |code: Code, msg: String| Error::new(code, msg);
        if parent_key.public_key().to_base64() != parent.public_key {
            return Err(fail(
                Code::DelegationBuilderInvalid,
                "the signing key is not the parent passport's key".into(),
            ));
        }
        if !parent.delegation_authority {
            return Err(fail(
                Code::DelegationAuthorityMissing,
                "the parent passport has no delegation_authority".into(),
            ));
        }
        let parent_chain = parent.delegation_chain.as_deref().unwrap_or(&[]);
        if parent_chain.len() + 1 > MAX_DELEGATION_DEPTH {
            return Err(fail(
                Code::DelegationChainTooDeep,
                format!(
                    "the chain would have {} links; at most {MAX_DELEGATION_DEPTH}",
                    parent_chain.len() + 1
                ),
            ));
        }
        let root = parent_chain.first().map_or(parent, |l| &l.envelope);
        let (gate_id, hash, version) = if root.issuer.kind == IssuerType::Gate {
            (
                json!(root.gate_id),
                json!(root.catalog_content_hash),
                json!(root.catalog_version),
            )
        } else {
            (Value::Null, Value::Null, Value::Null)
        };
        let mut chain: Vec<Value> = parent
            .json
            .pointer("/provenance/delegation_chain")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        chain.push(self.parent.to_passport_json_pair());
        let mut identity = Map::new();
        identity.insert("agent_id".into(), json!(self.child_key.self_agent_id()));
        identity.insert("agent_name".into(), json!(self.agent_name));
        identity.insert("public_key".into(), json!(self.child_key.to_base64()));
        let json = json!({
            "schema_version": SCHEMA_VERSION,
            "passport_id": self.passport_id,
            "identity": identity,
            "permissions": permissions_json(&self.permissions),
            "provenance": {
                "issuer": {"type": "delegate", "id": format!("delegate:{}", root.passport_id), "key_id": parent.issuer.key_id},
                "gate_id": gate_id,
                "catalog_content_hash": hash,
                "catalog_version": version,
                "delegation_chain": chain,
                "issued_at": self.issued_at.to_rfc3339_millis()?,
                "expires_at": self.effective_expires_at()?.to_rfc3339_millis()?,
            },
            "delegation_authority": self.delegation_authority,
            "verification_evidence": self.verification_evidence,
        });
        // Parse first so shape problems (e.g. repeated permission keys) are reported as such.
        Envelope::from_value(&json)?;
        sign_envelope(parent_key, json, self.issued_at, self.resolver)
    }
}
