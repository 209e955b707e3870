//! One passport model for both wire forms, and the verifier that produces it.
//!
//! A [`Verifier`] holds a [`TrustStore`], a [`Policy`], an optional [`RevocationSource`] and
//! [`VerifierOptions`]. [`Verifier::verify`] detects the wire form (a compact JWT, or a JSON wire
//! pair `{"envelope"|"passport_json": ..., "signature": ...}`), verifies it, and returns the same
//! [`Passport`] value either way. [`inspect`] decodes without trusting anything, and says so.
//!
//! Converting between forms is never a silent rewrite: the holder of a signing key re-issues
//! ([`Passport::reissue_as_jwt`], [`Passport::reissue_as_envelope`]) and the result carries that
//! key's signature.
//!
//! JWT verification order (each step's code is what a caller sees when several things are wrong):
//! 1. size (`token_too_large`); 2. structure, base64url, header rules, JSON (`jwt_*`, `json_*`);
//! 3. claim shapes (`jwt_claim_invalid`, `jwk_invalid`); 4. delegation depth; 5. root issuer:
//!    policy (`self_issued_not_allowed`, `issuer_not_allowed`), then the trust store
//!    (`issuer_unknown`, `key_unknown`, `issuer_key_revoked`, `key_not_yet_valid`, `key_expired`)
//!    or, for a self-issued root, the binding of `iss`/`sub` to `cnf` (`identity_mismatch`);
//! 6. signatures from the root down (`signature_invalid`); 7. delegation rules per link;
//! 8. time windows (`passport_expired`, `passport_not_yet_valid`, `passport_validity_inverted`);
//! 9. audience (`audience_mismatch`); 10. tier (`trust_tier_insufficient`); 11. revocation
//!    (`passport_revoked`, `issuer_key_revoked`), then its freshness (`revocation_stale` or a
//!    warning).

use crate::envelope::{self, IssuerKeyResolver, IssuerType, Permission, SignedEnvelope, Tier};
use crate::error::{Code, Error, Result};
use crate::interned::{Interned, Interning};
use crate::json;
use crate::jwt::{self, CatalogPin, Claims, HeaderRules};
use crate::keys::{PublicKey, SigningKey};
use crate::revocation::{check_freshness, Freshness, RevocationSource, Warning};
use crate::time::Timestamp;
use crate::trust::{is_self_issuer_id, IssuerKind, Policy, TrustStore};
use serde_json::{json, Value};
use std::sync::Arc;

/// Which wire form a passport arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireForm {
    /// Modei's v2 envelope: RFC 8785 JSON with a detached signature.
    V2Envelope,
    /// A compact JWS (`typ: modei-passport+jwt`).
    Jwt,
}

/// Who signed a passport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerRef {
    /// Issuer id (`acme`, `self:<hex>`, a parent agent id, `delegate:<root passport id>`);
    /// shared with the trust store's entry when it comes from there.
    pub id: Arc<str>,
    /// Kind.
    pub kind: IssuerKind,
    /// Key id (shared like `id`).
    pub key_id: Arc<str>,
}

/// One ancestor of a delegated passport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ancestor {
    /// Its passport id.
    pub passport_id: String,
    /// Its agent id.
    pub agent_id: String,
    /// Its issuer id.
    pub issuer_id: String,
}

/// A passport, whatever its wire form. Values returned by [`Verifier::verify`] are verified.
#[derive(Debug, Clone, PartialEq)]
pub struct Passport {
    /// Passport id (`jti` / `passport_id`).
    pub passport_id: String,
    /// Agent id (`sub` / `identity.agent_id`).
    pub agent_id: String,
    /// Agent display name.
    pub agent_name: Option<String>,
    /// The agent's Ed25519 key (for proof of possession), raw bytes. Its form was checked; decode
    /// it with [`Passport::agent_public_key`] when verifying a proof (the curve decode is not
    /// paid on the hot path when no proof is needed).
    pub agent_key: [u8; 32],
    /// Who signed this passport (for a delegation: the parent agent).
    pub issuer: IssuerRef,
    /// The trust anchor: the chain root's issuer (equal to `issuer` when not delegated).
    pub root_issuer: IssuerRef,
    /// Trust tier (from the trust store for store issuers; L0 for self; the root's for
    /// delegations).
    pub tier: Tier,
    /// Granted permissions with their constraints, in signed order.
    pub permissions: Vec<Permission>,
    /// Issue time.
    pub issued_at: Timestamp,
    /// Not-before time (JWT `nbf`).
    pub not_before: Option<Timestamp>,
    /// Expiry.
    pub expires_at: Timestamp,
    /// Gates this passport is for (empty: any gate).
    pub audience: Vec<String>,
    /// Catalog pin.
    pub catalog: Option<CatalogPin>,
    /// May this passport delegate.
    pub delegation_authority: bool,
    /// Ancestors, root first (empty when not delegated).
    pub lineage: Vec<Ancestor>,
    /// Wire form.
    pub form: WireForm,
    /// What the verifier noticed without refusing (e.g. stale revocation data at L2).
    pub warnings: Vec<Warning>,
    /// The token (JWT) or the RFC 8785 signing input (envelope). Shared, so a gate can key its
    /// cache with the JWT's bytes without another copy of them.
    signed: std::sync::Arc<[u8]>,
    /// SHA-256 of `signed`, computed on first use.
    digest: std::sync::OnceLock<[u8; 32]>,
}

impl Passport {
    /// SHA-256 of the token bytes (JWT) or of the RFC 8785 signing input (envelope): a cache
    /// key for the gate. Computed on first call (not on the verification hot path).
    pub fn digest(&self) -> [u8; 32] {
        *self.digest.get_or_init(|| sha256(&self.signed))
    }

    /// The bytes [`Passport::digest`] hashes: the compact token (JWT) or the RFC 8785 signing
    /// input (envelope).
    pub fn signed_bytes(&self) -> &[u8] {
        &self.signed
    }

    /// [`Passport::signed_bytes`], shared.
    pub(crate) fn signed_shared(&self) -> &std::sync::Arc<[u8]> {
        &self.signed
    }

    /// The agent key, decoded (`public_key_malformed` if it is not a valid Ed25519 point).
    pub fn agent_public_key(&self) -> Result<PublicKey> {
        PublicKey::from_bytes(&self.agent_key)
            .map_err(|e| Error::new(Code::PublicKeyMalformed, e.detail().to_owned()))
    }

    /// The permission with this exact key.
    pub fn permission(&self, key: &str) -> Option<&Permission> {
        self.permissions.iter().find(|p| p.permission_key == key)
    }

    /// Whether this passport was delegated.
    pub fn is_delegated(&self) -> bool {
        !self.lineage.is_empty()
    }

    /// Re-issues this passport's content as a JWT signed by `key` for issuer `issuer_id` /
    /// `kid` (a trust store issuer). Delegated passports cannot be converted (their ancestors
    /// are signed in the other form): `invalid_argument`.
    pub fn reissue_as_jwt(&self, issuer_id: &str, kid: &str, key: &SigningKey) -> Result<String> {
        self.no_lineage()?;
        self.to_issue()?.issue(issuer_id, kid, key)
    }

    /// Re-issues as a self-issued JWT. `key` must be the agent's own key.
    pub fn reissue_as_self_jwt(&self, key: &SigningKey) -> Result<String> {
        self.no_lineage()?;
        if key.public_key().bytes() != &self.agent_key {
            return Err(Error::new(
                Code::InvalidArgument,
                "a self-issued passport is signed by the agent's own key",
            ));
        }
        self.to_issue()?.self_issue(key)
    }

    /// Re-issues as a v2 envelope of issuer type `kind` (self, platform or gate) signed by `key`.
    /// For `self`, `key` must be the agent's key and `issuer_id`/`key_id` are derived. Audience
    /// and `nbf` have no envelope field: a passport carrying them cannot be converted
    /// (`invalid_argument`).
    pub fn reissue_as_envelope(
        &self,
        kind: IssuerType,
        issuer_id: &str,
        key_id: &str,
        key: &SigningKey,
    ) -> Result<SignedEnvelope> {
        self.no_lineage()?;
        if !self.audience.is_empty() || self.not_before.is_some() {
            return Err(Error::new(
                Code::InvalidArgument,
                "aud and nbf have no v2 envelope field; re-issuing would drop a restriction",
            ));
        }
        let pin = self.catalog.clone().unwrap_or_default();
        let pk = key.public_key();
        let (agent_id, public_key, iss, kid) = match kind {
            IssuerType::SelfIssued => {
                if pk.bytes() != &self.agent_key {
                    return Err(Error::new(
                        Code::InvalidArgument,
                        "a self-issued envelope is signed by the agent's own key",
                    ));
                }
                (
                    pk.self_agent_id(),
                    pk.to_base64(),
                    pk.self_issuer_id(),
                    "self".to_owned(),
                )
            }
            IssuerType::Platform | IssuerType::Gate => (
                self.agent_id.clone(),
                crate::encoding::b64_std_encode(&self.agent_key),
                issuer_id.to_owned(),
                key_id.to_owned(),
            ),
            IssuerType::Delegate => {
                return Err(Error::new(
                    Code::InvalidArgument,
                    "use the delegation builder to issue delegate envelopes",
                ))
            }
        };
        let perms: Vec<Value> = self
            .permissions
            .iter()
            .map(|p| json!({"permission_key": p.permission_key, "constraints": Value::Object(serde_json::Map::clone(&p.constraints))}))
            .collect();
        let v = json!({
            "schema_version": envelope::SCHEMA_VERSION,
            "passport_id": self.passport_id,
            "identity": {"agent_id": agent_id, "agent_name": self.agent_name, "public_key": public_key},
            "permissions": perms,
            "provenance": {
                "issuer": {"type": kind.as_str(), "id": iss, "key_id": kid},
                "gate_id": pin.gate_id,
                "catalog_content_hash": pin.content_hash,
                "catalog_version": pin.version,
                "delegation_chain": null,
                "issued_at": self.issued_at.to_rfc3339_millis()?,
                "expires_at": self.expires_at.to_rfc3339_millis()?,
            },
            "delegation_authority": self.delegation_authority,
            "verification_evidence": [],
        });
        let envelope = envelope::Envelope::from_value(&v)?;
        let sig = key.sign(&crate::canonical::canonicalize(&v));
        Ok(SignedEnvelope {
            envelope,
            signature: sig.to_base64(),
        })
    }

    fn no_lineage(&self) -> Result<()> {
        if self.is_delegated() {
            Err(Error::new(
                Code::InvalidArgument,
                "a delegated passport cannot change wire form: its ancestors are signed in the other form",
            ))
        } else {
            Ok(())
        }
    }

    fn to_issue(&self) -> Result<JwtIssue> {
        Ok(JwtIssue {
            passport_id: self.passport_id.clone(),
            agent_id: self.agent_id.clone(),
            agent_name: self.agent_name.clone(),
            agent_key: self.agent_public_key()?,
            permissions: self.permissions.clone(),
            issued_at: self.issued_at,
            not_before: self.not_before,
            expires_at: self.expires_at,
            audience: self.audience.clone(),
            catalog: self.catalog.clone(),
            delegation_authority: self.delegation_authority,
        })
    }
}

// ------------------------------------------------------------------------------------------
// Issuing JWTs
// ------------------------------------------------------------------------------------------

/// What goes into a passport JWT. Times are truncated to whole seconds (NumericDate); `nbf` is
/// rounded up so it never starts earlier than asked.
#[derive(Debug, Clone)]
pub struct JwtIssue {
    /// `jti`.
    pub passport_id: String,
    /// `sub` (ignored by [`JwtIssue::self_issue`] and [`JwtIssue::delegate`], which derive it
    /// from the agent key).
    pub agent_id: String,
    /// `name`.
    pub agent_name: Option<String>,
    /// `cnf.jwk`: the agent's key.
    pub agent_key: PublicKey,
    /// `permissions`.
    pub permissions: Vec<Permission>,
    /// `iat`.
    pub issued_at: Timestamp,
    /// `nbf`.
    pub not_before: Option<Timestamp>,
    /// `exp` (clamped to the parent's by [`JwtIssue::delegate`]).
    pub expires_at: Timestamp,
    /// `aud` (a delegation inherits the parent's when empty).
    pub audience: Vec<String>,
    /// `catalog` (a delegation always carries the parent's).
    pub catalog: Option<CatalogPin>,
    /// `del.authority`.
    pub delegation_authority: bool,
}

impl JwtIssue {
    /// A passport for `agent_key` with no permissions, valid from `issued_at` to `expires_at`.
    pub fn new(
        passport_id: impl Into<String>,
        agent_id: impl Into<String>,
        agent_key: PublicKey,
        issued_at: Timestamp,
        expires_at: Timestamp,
    ) -> Self {
        JwtIssue {
            passport_id: passport_id.into(),
            agent_id: agent_id.into(),
            agent_name: None,
            agent_key,
            permissions: Vec::new(),
            issued_at,
            not_before: None,
            expires_at,
            audience: Vec::new(),
            catalog: None,
            delegation_authority: false,
        }
    }

    fn claims(&self, iss: String, sub: String, parent: Option<String>) -> Claims {
        Claims {
            iss,
            sub,
            jti: self.passport_id.clone(),
            iat: self.issued_at.unix_seconds(),
            exp: self.expires_at.unix_seconds(),
            nbf: self
                .not_before
                .map(|t| t.unix_millis().saturating_add(999).div_euclid(1000)),
            aud: self.audience.clone(),
            name: self.agent_name.clone(),
            permissions: self.permissions.clone(),
            catalog: self.catalog.clone(),
            cnf: *self.agent_key.bytes(),
            delegation_authority: self.delegation_authority,
            parent,
        }
    }

    /// Signs as trust store issuer `issuer_id` with key `kid`.
    pub fn issue(&self, issuer_id: &str, kid: &str, key: &SigningKey) -> Result<String> {
        if issuer_id.starts_with(crate::trust::SELF_ISSUER_PREFIX) {
            return Err(Error::new(
                Code::InvalidArgument,
                "use self_issue for self-issued passports",
            ));
        }
        jwt::sign(
            &self.claims(issuer_id.to_owned(), self.agent_id.clone(), None),
            kid,
            key,
        )
    }

    /// Signs as a self-issued passport: `iss` = the key's self issuer id, `kid` = `self`,
    /// `sub` = its self agent id, `cnf` = the key. `key` must be `agent_key`'s private half.
    pub fn self_issue(&self, key: &SigningKey) -> Result<String> {
        let pk = key.public_key();
        if pk != self.agent_key {
            return Err(Error::new(
                Code::InvalidArgument,
                "self_issue: the signing key is not the agent key",
            ));
        }
        jwt::sign(
            &self.claims(pk.self_issuer_id(), pk.self_agent_id(), None),
            "self",
            key,
        )
    }

    /// Delegates from `parent_token` (a passport JWT whose `cnf` key is `parent_key`) to
    /// `agent_key`: `iss` = the parent's `sub`, `kid` = the RFC 7638 thumbprint of the parent's
    /// key, `sub` = the child key's self agent id, `exp` clamped to the parent's, `aud` and
    /// `catalog` inherited. Refuses, with the verifier's code, what a verifier would refuse
    /// (no authority, depth, permission elevation). The parent itself is not verified here.
    pub fn delegate(&self, parent_token: &str, parent_key: &SigningKey) -> Result<String> {
        let chain = unroll(parent_token, &HeaderRules::default())?;
        let parent = chain
            .first()
            .ok_or_else(|| Error::new(Code::DelegationBuilderInvalid, "no parent passport"))?;
        let pc = &parent.claims;
        let pk = parent_key.public_key();
        if pk.bytes() != &pc.cnf {
            return Err(Error::new(
                Code::DelegationBuilderInvalid,
                "the signing key is not the parent passport's cnf key",
            ));
        }
        if !pc.delegation_authority {
            return Err(Error::new(
                Code::DelegationAuthorityMissing,
                "the parent passport has no delegation authority (del.authority)",
            ));
        }
        if chain.len() + 1 > envelope::MAX_DELEGATION_DEPTH + 1 {
            return Err(Error::new(
                Code::DelegationChainTooDeep,
                format!(
                    "the chain would have {} ancestors; at most {}",
                    chain.len(),
                    envelope::MAX_DELEGATION_DEPTH
                ),
            ));
        }
        envelope::subset::check_permissions_subset(
            &pc.permissions,
            &self.permissions,
            "parent→child",
        )?;
        let mut claims = self.claims(
            pc.sub.clone(),
            self.agent_key.self_agent_id(),
            Some(parent_token.to_owned()),
        );
        claims.exp = claims.exp.min(pc.exp);
        if claims.aud.is_empty() {
            claims.aud = pc.aud.clone();
        }
        claims.catalog = pc.catalog.clone();
        jwt::sign(&claims, &pk.thumbprint(), parent_key)
    }
}

// ------------------------------------------------------------------------------------------
// Verifier
// ------------------------------------------------------------------------------------------

/// Verifier settings. Defaults: 30 s leeway, no gate id, `EdDSA` accepted, 16 KiB tokens,
/// 256 KiB envelope wire pairs, no revocation freshness requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierOptions {
    /// Clock-skew allowance in milliseconds for `exp`, `nbf` and `iat`.
    pub leeway_ms: i64,
    /// This gate's id: passports with an audience must name it (`audience_mismatch`).
    pub gate_id: Option<String>,
    /// Accept `alg: "EdDSA"` besides `Ed25519`.
    pub accept_eddsa: bool,
    /// Largest compact JWT accepted (`token_too_large`).
    pub max_token_bytes: usize,
    /// Largest envelope wire pair accepted (`token_too_large`).
    pub max_envelope_bytes: usize,
    /// Revocation freshness (profile L2: [`Freshness::L2`], L3: [`Freshness::L3`]).
    pub revocation_freshness: Freshness,
}

impl Default for VerifierOptions {
    fn default() -> Self {
        VerifierOptions {
            leeway_ms: 30_000,
            gate_id: None,
            accept_eddsa: true,
            max_token_bytes: jwt::DEFAULT_MAX_TOKEN_BYTES,
            max_envelope_bytes: 256 * 1024,
            revocation_freshness: Freshness::Any,
        }
    }
}

/// Verifies passports of both wire forms against a trust store and a policy.
///
/// A verifier remembers the constraint objects of the JWT passports it verified (at most 512,
/// by exact text), so passports issued from one template decode their constraints once and
/// share them; clones share that table. Nothing else is kept between calls.
#[derive(Clone)]
pub struct Verifier {
    trust: TrustStore,
    policy: Policy,
    revocation: Option<Arc<dyn RevocationSource>>,
    options: VerifierOptions,
    /// Constraint objects already decoded, by exact text (shared by clones).
    interned: Interned,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("trust", &self.trust)
            .field("policy", &self.policy)
            .field("revocation", &self.revocation.is_some())
            .field("options", &self.options)
            .finish()
    }
}

/// A parsed link of a JWT delegation chain (or a lone token).
struct Link {
    token: String,
    signing_len: usize,
    kid: String,
    signature: crate::keys::Signature,
    claims: Claims,
}

impl Link {
    fn signing_input(&self) -> &[u8] {
        self.token
            .as_bytes()
            .get(..self.signing_len)
            .unwrap_or_default()
    }
}

fn parse_link(token: String, rules: &HeaderRules) -> Result<Link> {
    let d = jwt::decode_typed(&token, rules)?;
    let signing_len = d.signing_input.len();
    let claims = d.claims;
    Ok(Link {
        signing_len,
        kid: d.kid,
        signature: d.signature,
        claims,
        token,
    })
}

/// Parses `token` and its ancestors: returns [token, parent, grandparent, ..., root].
fn unroll(token: &str, rules: &HeaderRules) -> Result<Vec<Link>> {
    let mut links = vec![parse_link(token.to_owned(), rules)?];
    loop {
        let next = links.last().and_then(|l| l.claims.parent.clone());
        let Some(parent) = next else { break };
        if links.len() > envelope::MAX_DELEGATION_DEPTH {
            return Err(Error::new(
                Code::DelegationChainTooDeep,
                format!(
                    "the delegation chain has more than {} ancestors",
                    envelope::MAX_DELEGATION_DEPTH
                ),
            ));
        }
        let label = format!("ancestor {}", links.len());
        links.push(parse_link(parent, rules).map_err(|e| e.at(&label))?);
    }
    Ok(links)
}

fn id_mismatch(label: &str, what: String) -> Error {
    Error::new(Code::IdentityMismatch, format!("{label}: {what}"))
}

fn decode_cnf(bytes: &[u8; 32], label: &str) -> Result<PublicKey> {
    PublicKey::from_bytes(bytes).map_err(|e| {
        Error::new(
            Code::PublicKeyMalformed,
            format!("{label}: cnf.jwk: {}", e.detail()),
        )
    })
}

/// An undecoded passport, as [`inspect`] returns it. NOTHING here is verified: not the
/// signature, not the issuer, not the times. Use it to display or debug, never to decide.
#[derive(Debug, Clone, PartialEq)]
pub struct UnverifiedPassport {
    /// Wire form.
    pub form: WireForm,
    /// The JWS header (JWT form only).
    pub header: Option<Value>,
    /// The claims (JWT) or the envelope (v2), as JSON.
    pub body: Value,
}

/// Decodes a passport of either form WITHOUT verifying anything (see [`UnverifiedPassport`]).
/// Strict parsing still applies (duplicate members, base64url rules).
pub fn inspect(input: &[u8]) -> Result<UnverifiedPassport> {
    let t = input.trim_ascii();
    if t.first() == Some(&b'{') {
        let v = json::parse_strict(t)?;
        let (env, _) = envelope::verify::split_wire(&v)?;
        return Ok(UnverifiedPassport {
            form: WireForm::V2Envelope,
            header: None,
            body: env.clone(),
        });
    }
    let s = std::str::from_utf8(t).map_err(|_| Error::new(Code::JwtMalformed, "not UTF-8"))?;
    let mut parts = s.split('.');
    let (Some(h), Some(p), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::new(
            Code::JwtMalformed,
            "a compact JWS has three segments",
        ));
    };
    let header = json::parse_strict(&jwt::b64url_decode_strict(h.as_bytes(), "header")?)?;
    let body = json::parse_strict(&jwt::b64url_decode_strict(p.as_bytes(), "claims")?)?;
    jwt::b64url_decode_strict(sig.as_bytes(), "signature")?;
    Ok(UnverifiedPassport {
        form: WireForm::Jwt,
        header: Some(header),
        body,
    })
}

struct PolicyResolver<'a> {
    trust: &'a TrustStore,
    policy: &'a Policy,
}

impl IssuerKeyResolver for PolicyResolver<'_> {
    fn resolve(
        &self,
        kind: IssuerType,
        issuer_id: &str,
        key_id: &str,
        at: Timestamp,
    ) -> Result<Option<PublicKey>> {
        self.policy.check_allowed(issuer_id)?;
        self.trust.resolve(kind, issuer_id, key_id, at)
    }
}

impl Verifier {
    /// A verifier with default options and no revocation source.
    pub fn new(trust: TrustStore, policy: Policy) -> Self {
        Verifier {
            trust,
            policy,
            revocation: None,
            options: VerifierOptions::default(),
            interned: Interned::default(),
        }
    }

    /// Adds a revocation source.
    pub fn with_revocation(mut self, source: Arc<dyn RevocationSource>) -> Self {
        self.revocation = Some(source);
        self
    }

    /// Replaces the options.
    pub fn with_options(mut self, options: VerifierOptions) -> Self {
        self.options = options;
        self
    }

    /// The options.
    pub fn options(&self) -> &VerifierOptions {
        &self.options
    }

    /// The trust store.
    pub fn trust_store(&self) -> &TrustStore {
        &self.trust
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Decodes without verifying: see [`inspect`]. NOTHING in the result is trusted.
    pub fn inspect(input: impl AsRef<[u8]>) -> Result<UnverifiedPassport> {
        inspect(input.as_ref())
    }

    /// Verifies a passport in either wire form at `now`. Leading and trailing ASCII whitespace
    /// is ignored; input starting with `{` is an envelope wire pair, anything else a JWT.
    pub fn verify(&self, input: impl AsRef<[u8]>, now: Timestamp) -> Result<Passport> {
        self.verify_sharing(input.as_ref(), None, now)
    }

    /// [`Verifier::verify`] of text the caller holds in an `Arc`: a JWT passport (without
    /// surrounding whitespace) keeps that `Arc` as its signed bytes instead of a copy, so a
    /// gate's cache key is the request's own token.
    pub(crate) fn verify_shared(&self, input: &Arc<str>, now: Timestamp) -> Result<Passport> {
        self.verify_sharing(input.as_bytes(), Some(input), now)
    }

    fn verify_sharing(
        &self,
        input: &[u8],
        shared: Option<&Arc<str>>,
        now: Timestamp,
    ) -> Result<Passport> {
        let t = input.trim_ascii();
        if t.first() == Some(&b'{') {
            return self.verify_envelope(t, now);
        }
        self.check_token_len(t)?;
        let (token, signed) = match shared {
            // Untrimmed text already: no UTF-8 check, no copy.
            Some(a) if a.len() == t.len() => (&**a, Arc::<[u8]>::from(a.clone())),
            _ => (
                std::str::from_utf8(t)
                    .map_err(|_| Error::new(Code::JwtMalformed, "a compact JWS is ASCII"))?,
                Arc::from(t),
            ),
        };
        self.verify_jwt_signed(token, signed, now)
    }

    fn check_token_len(&self, t: &[u8]) -> Result<()> {
        match t.len() > self.options.max_token_bytes {
            true => Err(self.too_large(t.len(), self.options.max_token_bytes)),
            false => Ok(()),
        }
    }

    fn too_large(&self, n: usize, max: usize) -> Error {
        Error::new(
            Code::TokenTooLarge,
            format!("token is {n} bytes; this verifier accepts at most {max}"),
        )
    }

    /// Verifies a compact JWT passport at `now`.
    pub fn verify_jwt(&self, token: &str, now: Timestamp) -> Result<Passport> {
        self.check_token_len(token.as_bytes())?;
        self.verify_jwt_signed(token, token.as_bytes().into(), now)
    }

    /// `signed` holds `token`'s bytes; the passport keeps it.
    fn verify_jwt_signed(
        &self,
        token: &str,
        signed: Arc<[u8]>,
        now: Timestamp,
    ) -> Result<Passport> {
        let interning = Interning::new(&self.interned);
        let p = self.verify_jwt_interning(token, signed, now, &interning)?;
        // Only a verified passport's constraint objects are kept for the next ones.
        interning.keep();
        Ok(p)
    }

    fn verify_jwt_interning(
        &self,
        token: &str,
        signed: Arc<[u8]>,
        now: Timestamp,
        interning: &Interning,
    ) -> Result<Passport> {
        let rules = HeaderRules {
            accept_eddsa: self.options.accept_eddsa,
        };
        let leaf_d = jwt::decode_typed_with(token, &rules, Some(interning))?;
        let sign_len = leaf_d.signing_input.len();
        let leaf_kid = leaf_d.kid;
        let leaf_sig = leaf_d.signature;
        let leaf = leaf_d.claims;
        let leaf_input = token.as_bytes().get(..sign_len).unwrap_or_default();

        // Ancestors, root last.
        let ancestors = match &leaf.parent {
            None => Vec::new(),
            Some(p) => unroll(p, &rules).map_err(|e| e.at("del.parent"))?,
        };
        if ancestors.len() > envelope::MAX_DELEGATION_DEPTH {
            return Err(Error::new(
                Code::DelegationChainTooDeep,
                format!(
                    "the delegation chain has {} ancestors; at most {}",
                    ancestors.len(),
                    envelope::MAX_DELEGATION_DEPTH
                ),
            ));
        }

        // The root: the last ancestor, or the leaf itself.
        let (root_claims, root_kid, root_input, root_sig, root_label) = match ancestors.last() {
            Some(r) => (
                &r.claims,
                r.kid.as_str(),
                r.signing_input(),
                &r.signature,
                "root",
            ),
            None => (&leaf, leaf_kid.as_str(), leaf_input, &leaf_sig, "passport"),
        };
        let root_iat = Timestamp::from_unix_seconds(root_claims.iat);
        let (root_issuer, tier) = if is_self_issuer_id(&root_claims.iss) {
            self.policy.check_self_allowed()?;
            self.policy.check_allowed(&root_claims.iss)?;
            if root_kid != "self" {
                return Err(id_mismatch(
                    root_label,
                    format!("a self-issued passport has kid \"self\", not {root_kid:?}"),
                ));
            }
            let key = decode_cnf(&root_claims.cnf, root_label)?;
            if key.self_issuer_id() != root_claims.iss {
                return Err(id_mismatch(
                    root_label,
                    "iss is a self issuer id that is not the hash of the cnf key".into(),
                ));
            }
            if key.self_agent_id() != root_claims.sub {
                return Err(id_mismatch(
                    root_label,
                    "sub of a self-issued passport must be the cnf key's agent id".into(),
                ));
            }
            // A store entry for this self key can revoke or window it.
            if let Some(entry) = self.trust.issuer(&root_claims.iss) {
                if let Some(k) = entry.key("self") {
                    k.check(&root_claims.iss, root_iat, now)?;
                }
            }
            key.verify_strict(root_input, root_sig)
                .map_err(|e| e.at(root_label))?;
            (
                IssuerRef {
                    id: root_claims.iss.as_str().into(),
                    kind: IssuerKind::SelfIssued,
                    key_id: "self".into(),
                },
                Tier::L0,
            )
        } else {
            self.policy.check_allowed(&root_claims.iss)?;
            let found = self
                .trust
                .entry_for(&root_claims.iss, root_kid, root_iat, now)?;
            found
                .key
                .key
                .verify_strict(root_input, root_sig)
                .map_err(|e| e.at(root_label))?;
            // The store's own id and kid (equal to the token's): no copies for the passport.
            (
                IssuerRef {
                    id: found.shared_id(&root_claims.iss),
                    kind: found.issuer.kind,
                    key_id: found.shared_kid(root_kid),
                },
                found.issuer.tier,
            )
        };

        // Delegation links from the root down: each signed by its parent's cnf key.
        let mut lineage = Vec::with_capacity(ancestors.len());
        if !ancestors.is_empty() {
            let n = ancestors.len();
            for i in (0..n).rev() {
                let parent = &ancestors[i];
                let (child, kid, input, sig, label) = if i == 0 {
                    (
                        &leaf,
                        leaf_kid.as_str(),
                        leaf_input,
                        &leaf_sig,
                        "leaf".to_owned(),
                    )
                } else {
                    let c = &ancestors[i - 1];
                    (
                        &c.claims,
                        c.kid.as_str(),
                        c.signing_input(),
                        &c.signature,
                        format!("ancestor {}", i - 1),
                    )
                };
                self.check_link(&parent.claims, child, kid, input, sig, &label)?;
                self.check_times(&parent.claims, now, &format!("ancestor {i}"))?;
                lineage.push(Ancestor {
                    passport_id: parent.claims.jti.clone(),
                    agent_id: parent.claims.sub.clone(),
                    issuer_id: parent.claims.iss.clone(),
                });
            }
        }

        let (issued_at, not_before, expires_at) = self.check_times(&leaf, now, "passport")?;
        self.check_audience(&leaf.aud)?;
        self.policy.check_tier(tier)?;

        // Revocation.
        let mut warnings = Vec::new();
        if let Some(src) = self.revocation.as_deref() {
            let ids = std::iter::once((&leaf.jti, &leaf.sub))
                .chain(ancestors.iter().map(|a| (&a.claims.jti, &a.claims.sub)));
            check_revoked(src, ids, &root_issuer)?;
        }
        if let Some(w) = check_freshness(
            self.revocation.as_deref(),
            self.options.revocation_freshness,
            now,
        )? {
            warnings.push(w);
        }

        let issuer = if ancestors.is_empty() {
            root_issuer.clone()
        } else {
            IssuerRef {
                id: leaf.iss.as_str().into(),
                kind: IssuerKind::Delegate,
                key_id: leaf_kid.into(),
            }
        };
        Ok(Passport {
            passport_id: leaf.jti,
            agent_id: leaf.sub,
            agent_name: leaf.name,
            agent_key: leaf.cnf,
            issuer,
            root_issuer,
            tier,
            permissions: {
                // ancestors are [parent, ..., root]; inheritance walks from the root down.
                let anc: Vec<&[Permission]> = ancestors
                    .iter()
                    .rev()
                    .map(|a| a.claims.permissions.as_slice())
                    .collect();
                inherit_constraints(leaf.permissions, &anc)
            },
            issued_at,
            not_before,
            expires_at,
            audience: leaf.aud,
            catalog: leaf.catalog,
            delegation_authority: leaf.delegation_authority,
            lineage,
            form: WireForm::Jwt,
            warnings,
            signed,
            digest: std::sync::OnceLock::new(),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn check_link(
        &self,
        parent: &Claims,
        child: &Claims,
        kid: &str,
        input: &[u8],
        sig: &crate::keys::Signature,
        label: &str,
    ) -> Result<()> {
        if !parent.delegation_authority {
            return Err(Error::new(
                Code::DelegationAuthorityMissing,
                format!("{label}: its parent {:?} has no del.authority", parent.jti),
            ));
        }
        let pkey = decode_cnf(&parent.cnf, label)?;
        if child.iss != parent.sub {
            return Err(id_mismatch(
                label,
                format!(
                    "iss {:?} must be the parent's sub {:?}",
                    child.iss, parent.sub
                ),
            ));
        }
        if kid != pkey.thumbprint() {
            return Err(id_mismatch(
                label,
                "kid must be the RFC 7638 thumbprint of the parent's cnf key".into(),
            ));
        }
        pkey.verify_strict(input, sig).map_err(|e| e.at(label))?;
        let ckey = decode_cnf(&child.cnf, label)?;
        if child.sub != ckey.self_agent_id() {
            return Err(id_mismatch(
                label,
                "sub of a delegated passport must be its cnf key's agent id".into(),
            ));
        }
        envelope::subset::check_permissions_subset(&parent.permissions, &child.permissions, label)?;
        if child.exp > parent.exp {
            return Err(Error::new(
                Code::ExpiryExtensionInChain,
                format!(
                    "{label}: exp {} is after the parent's exp {}",
                    child.exp, parent.exp
                ),
            ));
        }
        if !parent.aud.is_empty()
            && (child.aud.is_empty() || child.aud.iter().any(|a| !parent.aud.contains(a)))
        {
            return Err(Error::new(
                Code::PermissionElevationInChain,
                format!("{label}: aud must be a non-empty subset of the parent's aud"),
            ));
        }
        if parent.catalog.is_some() && child.catalog != parent.catalog {
            return Err(id_mismatch(
                label,
                "a delegation must carry its parent's catalog pin".into(),
            ));
        }
        Ok(())
    }

    fn check_times(
        &self,
        c: &Claims,
        now: Timestamp,
        label: &str,
    ) -> Result<(Timestamp, Option<Timestamp>, Timestamp)> {
        let iat = Timestamp::from_unix_seconds(c.iat);
        let exp = Timestamp::from_unix_seconds(c.exp);
        let nbf = c.nbf.map(Timestamp::from_unix_seconds);
        if exp <= iat || nbf.is_some_and(|n| n >= exp) {
            return Err(Error::new(
                Code::PassportValidityInverted,
                format!("{label}: exp {} is not after iat/nbf", c.exp),
            ));
        }
        let lee = self.options.leeway_ms;
        if now.plus_millis(-lee) >= exp {
            return Err(Error::new(
                Code::PassportExpired,
                format!("{label}: expired at {} (unix seconds)", c.exp),
            ));
        }
        if let Some(n) = nbf {
            if n > now.plus_millis(lee) {
                return Err(Error::new(
                    Code::PassportNotYetValid,
                    format!(
                        "{label}: not valid before {} (unix seconds)",
                        c.nbf.unwrap_or(0)
                    ),
                ));
            }
        }
        if iat > now.plus_millis(lee) {
            return Err(Error::new(
                Code::PassportNotYetValid,
                format!("{label}: issued in the future ({} unix seconds)", c.iat),
            ));
        }
        Ok((iat, nbf, exp))
    }

    fn check_audience(&self, aud: &[String]) -> Result<()> {
        match (&self.options.gate_id, aud.is_empty()) {
            (Some(g), false) if !aud.iter().any(|a| a == g) => Err(Error::new(
                Code::AudienceMismatch,
                format!("the passport is for {aud:?}, not gate {g:?}"),
            )),
            _ => Ok(()),
        }
    }

    /// Verifies an envelope wire pair (`{"envelope"|"passport_json": ..., "signature": ...}`).
    /// The envelope pipeline runs first (its codes are Modei's), then policy, the key window
    /// at issue time, audience (`provenance.gate_id` against this gate), tier and revocation.
    pub fn verify_envelope(&self, wire: &[u8], now: Timestamp) -> Result<Passport> {
        if wire.len() > self.options.max_envelope_bytes {
            return Err(self.too_large(wire.len(), self.options.max_envelope_bytes));
        }
        let resolver = PolicyResolver {
            trust: &self.trust,
            policy: &self.policy,
        };
        let opts = envelope::VerifyOptions {
            now,
            leeway_ms: self.options.leeway_ms,
            resolver: Some(&resolver),
        };
        let ve = envelope::verify_wire(wire, &opts)?;
        let env = &ve.signed.envelope;
        let root = env.chain_root().unwrap_or(env);
        let root_iat = Timestamp::parse_rfc3339(&root.issued_at)?;
        let root_ref = IssuerRef {
            id: root.issuer.id.as_str().into(),
            kind: IssuerKind::from_envelope(root.issuer.kind),
            key_id: root.issuer.key_id.as_str().into(),
        };
        let tier = if root.issuer.kind == IssuerType::SelfIssued {
            self.policy.check_self_allowed()?;
            self.policy.check_allowed(&root.issuer.id)?;
            if let Some(entry) = self.trust.issuer(&root.issuer.id) {
                if let Some(k) = entry.key("self") {
                    k.check(&root.issuer.id, root_iat, now)?;
                }
            }
            Tier::L0
        } else {
            let (issuer, _) =
                self.trust
                    .key_for(&root.issuer.id, &root.issuer.key_id, root_iat, now)?;
            issuer.tier
        };
        if let (Some(g), Some(pg)) = (&self.options.gate_id, &env.gate_id) {
            if g != pg {
                return Err(Error::new(
                    Code::AudienceMismatch,
                    format!("the passport was issued for gate {pg:?}, not {g:?}"),
                ));
            }
        }
        self.policy.check_tier(tier)?;
        let chain: Vec<&envelope::Envelope> = env
            .delegation_chain
            .iter()
            .flatten()
            .map(|l| &l.envelope)
            .collect();
        let mut warnings = Vec::new();
        if let Some(src) = self.revocation.as_deref() {
            let ids = std::iter::once((&env.passport_id, &env.agent_id))
                .chain(chain.iter().map(|e| (&e.passport_id, &e.agent_id)));
            check_revoked(src, ids, &root_ref)?;
        }
        if let Some(w) = check_freshness(
            self.revocation.as_deref(),
            self.options.revocation_freshness,
            now,
        )? {
            warnings.push(w);
        }
        let pin = CatalogPin {
            gate_id: env.gate_id.clone(),
            version: env.catalog_version,
            content_hash: env.catalog_content_hash.clone(),
        };
        Ok(Passport {
            passport_id: env.passport_id.clone(),
            agent_id: env.agent_id.clone(),
            agent_name: env.agent_name.clone(),
            agent_key: *ve.agent_key.bytes(),
            issuer: IssuerRef {
                id: env.issuer.id.as_str().into(),
                kind: IssuerKind::from_envelope(env.issuer.kind),
                key_id: env.issuer.key_id.as_str().into(),
            },
            root_issuer: root_ref,
            tier,
            permissions: {
                let anc: Vec<&[Permission]> =
                    chain.iter().map(|e| e.permissions.as_slice()).collect();
                inherit_constraints(env.permissions.clone(), &anc)
            },
            issued_at: ve.issued_at,
            not_before: None,
            expires_at: ve.expires_at,
            audience: Vec::new(),
            catalog: if pin.is_empty() { None } else { Some(pin) },
            delegation_authority: env.delegation_authority,
            lineage: chain
                .iter()
                .map(|e| Ancestor {
                    passport_id: e.passport_id.clone(),
                    agent_id: e.agent_id.clone(),
                    issuer_id: e.issuer.id.clone(),
                })
                .collect(),
            form: WireForm::V2Envelope,
            warnings,
            signed: ve.signing_input.into(),
            digest: std::sync::OnceLock::new(),
        })
    }
}

fn sha256(b: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    let mut out = [0u8; 32];
    out.copy_from_slice(&sha2::Sha256::digest(b));
    out
}

fn check_revoked<'a>(
    src: &dyn RevocationSource,
    ids: impl Iterator<Item = (&'a String, &'a String)>,
    root: &IssuerRef,
) -> Result<()> {
    for (pid, aid) in ids {
        if src.passport_revoked(pid) {
            return Err(Error::new(
                Code::PassportRevoked,
                format!("passport {pid:?} is revoked"),
            ));
        }
        if src.agent_revoked(aid) {
            return Err(Error::new(
                Code::PassportRevoked,
                format!("agent {aid:?} is revoked"),
            ));
        }
    }
    if src.issuer_key_revoked(&root.id, &root.key_id) {
        return Err(Error::new(
            Code::IssuerKeyRevoked,
            format!(
                "issuer {:?} key {:?} is on the revocation list",
                root.id, root.key_id
            ),
        ));
    }
    Ok(())
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn f<T: Send + Sync>() {}
    f::<Verifier>();
    f::<Passport>();
}

/// A delegate's effective permissions: every constraint dimension a delegate omits is inherited
/// from the nearest ancestor that states it. The delegation subset rule lets a delegate omit a
/// dimension (Modei's reference treats it as inherited); omitting must never mean
/// "unconstrained" at the gate. `ancestors` are root first; the subset rule already guarantees
/// each stated value is no looser than the one it overrides.
fn inherit_constraints(leaf: Vec<Permission>, ancestors: &[&[Permission]]) -> Vec<Permission> {
    if ancestors.is_empty() {
        return leaf;
    }
    leaf.into_iter()
        .map(|p| {
            let mut merged = serde_json::Map::new();
            for anc in ancestors {
                if let Some(ap) = anc
                    .iter()
                    .rev()
                    .find(|a| a.permission_key == p.permission_key)
                {
                    for (k, v) in ap.constraints.iter() {
                        merged.insert(k.clone(), v.clone());
                    }
                }
            }
            for (k, v) in p.constraints.iter() {
                merged.insert(k.clone(), v.clone());
            }
            Permission {
                permission_key: p.permission_key,
                constraints: merged.into(),
            }
        })
        .collect()
}

#[cfg(all(test, feature = "shared-sets"))]
mod tests {
    use super::*;
    use crate::trust::{TrustedIssuer, TrustedKey};
    use serde_json::json;

    /// Constraint objects are shared between passports with the same constraint text, and
    /// only a passport that verified adds to the table.
    #[test]
    fn verified_passports_share_constraint_objects() {
        let issuer = SigningKey::from_seed(&[1; 32]);
        let agent = SigningKey::from_seed(&[2; 32]);
        let trust = TrustStore::new()
            .with(
                TrustedIssuer::new("acme", IssuerKind::Organization)
                    .with_key(TrustedKey::new("acme-1", issuer.public_key())),
            )
            .unwrap();
        let v = Verifier::new(trust, Policy::new());
        let now = Timestamp::from_unix_seconds(1_800_000_000);
        let token = |jti: &str, limit: i64, key: &SigningKey| {
            let mut iss = JwtIssue::new(
                jti,
                "agent-1",
                agent.public_key(),
                now.plus_millis(-60_000),
                now.plus_millis(3_600_000),
            );
            let c = json!({"core:rate:max_per_minute": limit, "core:scope:domain_allowlist": ["*.example.com"]});
            iss.permissions = vec![Permission::new("search:*", c.as_object().cloned().unwrap())];
            iss.issue("acme", "acme-1", key).unwrap()
        };
        // Signed by a key the store does not hold: refused, and nothing kept.
        let forged = token("p0", 5, &SigningKey::from_seed(&[3; 32]));
        assert!(v.verify(forged.as_bytes(), now).is_err());
        assert_eq!(v.interned.len(), 0);
        let a = v.verify(token("p1", 5, &issuer).as_bytes(), now).unwrap();
        assert_eq!(v.interned.len(), 1);
        let b = v.verify(token("p2", 5, &issuer).as_bytes(), now).unwrap();
        let c = v.verify(token("p3", 6, &issuer).as_bytes(), now).unwrap();
        let ca = &a.permissions[0].constraints;
        assert!(Arc::ptr_eq(ca, &b.permissions[0].constraints));
        assert!(!Arc::ptr_eq(ca, &c.permissions[0].constraints));
        assert_eq!(c.permissions[0].constraints["core:rate:max_per_minute"], 6);
        // A clone of the verifier shares the table.
        let d = v
            .clone()
            .verify(token("p4", 5, &issuer).as_bytes(), now)
            .unwrap();
        assert!(Arc::ptr_eq(ca, &d.permissions[0].constraints));
    }
}
