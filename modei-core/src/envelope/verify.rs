//! Verification of v2 envelopes.
//!
//! Two layers, in this order:
//! 1. Modei's reference pipeline, step for step and in the same order (so every code matches the
//!    reference on the same input): schema version, shape, 64 KiB cap, key resolution, signature
//!    decode, key decode, Ed25519 (strict), and for delegations the chain rules.
//! 2. Our strict checks, which the reference skips: timestamps must be RFC 3339 and are
//!    compared as instants; the validity window is checked against the caller's clock; every
//!    identifier derived from a key must match it; a delegation's links must be delegates of the
//!    same root, with nested chains consistent and a gate root's catalog pin carried down.
//!
//! Platform- and gate-issued material verifies only when the caller's [`IssuerKeyResolver`]
//! (the trust store) holds the issuer key; the envelope's own `public_key` is never trusted for
//! them.

use super::model::{ChainLink, Envelope, IssuerType, SignedEnvelope, Tier};
use super::subset::check_subset;
use super::{MAX_CANONICAL_ENVELOPE_BYTES, MAX_DELEGATION_DEPTH};
use crate::canonical::{canonical_len, canonicalize};
use crate::encoding::decode_b64_std_fixed;
use crate::error::{Code, Error, Result};
use crate::json::{self, NonFinite, ParseOptions};
use crate::keys::{PublicKey, Signature};
use crate::time::Timestamp;
use serde_json::Value;

/// Looks up the key of a non-self issuer (platform, gate, organisation) in the caller's trust
/// store. `Ok(None)` means "not held" and yields `signature_key_unavailable`, as the reference.
/// An `Err` (key expired, revoked, issuer not allowed...) is returned as is.
pub trait IssuerKeyResolver {
    /// The key for `issuer.id` / `issuer.key_id`, valid at `at`.
    fn resolve(
        &self,
        kind: IssuerType,
        issuer_id: &str,
        key_id: &str,
        at: Timestamp,
    ) -> Result<Option<PublicKey>>;
}

/// Verification settings. Time always comes from the caller.
#[derive(Clone, Copy)]
pub struct VerifyOptions<'a> {
    /// The verifier's current time.
    pub now: Timestamp,
    /// Clock-skew allowance for `issued_at` (future) and `expires_at` (past), in milliseconds.
    pub leeway_ms: i64,
    /// Trust store for platform / gate issuers.
    pub resolver: Option<&'a dyn IssuerKeyResolver>,
}

impl<'a> VerifyOptions<'a> {
    /// Verify at `now` with the default 30 s leeway and no trust store (self-rooted only).
    pub fn at(now: Timestamp) -> Self {
        VerifyOptions {
            now,
            leeway_ms: 30_000,
            resolver: None,
        }
    }

    /// Adds a trust store for platform / gate issuers.
    pub fn with_resolver(mut self, resolver: &'a dyn IssuerKeyResolver) -> Self {
        self.resolver = Some(resolver);
        self
    }
}

/// A verified envelope: the envelope, its derived tier and its validity window.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedEnvelope {
    /// The envelope and its signature.
    pub signed: SignedEnvelope,
    /// Trust tier derived from the issuer type (the root's for delegations).
    pub tier: Tier,
    /// The key that signed the envelope (the parent's for delegations).
    pub signer: PublicKey,
    /// The agent's own key (`identity.public_key`), for proof of possession.
    pub agent_key: PublicKey,
    /// `issued_at` as an instant.
    pub issued_at: Timestamp,
    /// `expires_at` as an instant.
    pub expires_at: Timestamp,
    /// The RFC 8785 signing input (the whole envelope, nested chain included).
    pub signing_input: Vec<u8>,
}

/// Verifies an envelope given as a JSON value and its signature (`None`: absent or not a string).
pub fn verify_value(
    envelope: &Value,
    signature: Option<&str>,
    opts: &VerifyOptions<'_>,
) -> Result<VerifiedEnvelope> {
    verify_inner(envelope.clone(), signature, false, opts)
}

/// Verifies an envelope given as JSON text (read strictly: duplicate keys are refused).
pub fn verify_text(
    envelope_text: &[u8],
    signature: Option<&str>,
    opts: &VerifyOptions<'_>,
) -> Result<VerifiedEnvelope> {
    let parsed = json::parse_with(
        envelope_text,
        &ParseOptions {
            non_finite: NonFinite::NullAndFlag,
            ..ParseOptions::STRICT
        },
    )?;
    verify_inner(parsed.value, signature, parsed.saw_non_finite, opts)
}

/// Verifies the wire pair `{"envelope": {...}, "signature": "..."}` (also Modei's
/// `{"passport_json": {...}, "signature": "..."}`), given as JSON text.
pub fn verify_wire(wire: &[u8], opts: &VerifyOptions<'_>) -> Result<VerifiedEnvelope> {
    let parsed = json::parse_with(
        wire,
        &ParseOptions {
            non_finite: NonFinite::NullAndFlag,
            ..ParseOptions::STRICT
        },
    )?;
    let (env, sig) = take_wire(parsed.value)?;
    verify_inner(env, sig.as_deref(), parsed.saw_non_finite, opts)
}

/// Splits a wire pair into envelope and signature.
pub fn split_wire(v: &Value) -> Result<(&Value, Option<&str>)> {
    let obj = v.as_object().ok_or_else(|| {
        Error::new(
            Code::InvalidEnvelopeShape,
            "expected an object {\"envelope\": {...}, \"signature\": \"...\"}",
        )
    })?;
    let env =
        match (obj.get("envelope"), obj.get("passport_json")) {
            (Some(e), None) | (None, Some(e)) => e,
            _ => return Err(Error::new(
                Code::InvalidEnvelopeShape,
                "expected exactly one of \"envelope\" or \"passport_json\" beside \"signature\"",
            )),
        };
    if let Some(k) = obj
        .keys()
        .find(|k| !matches!(k.as_str(), "envelope" | "passport_json" | "signature"))
    {
        return Err(Error::new(
            Code::InvalidEnvelopeShape,
            format!("unknown key {k:?} in the signed passport"),
        ));
    }
    Ok((env, obj.get("signature").and_then(Value::as_str)))
}

/// [`split_wire`], taking ownership (no copy of the envelope).
pub fn take_wire(v: Value) -> Result<(Value, Option<String>)> {
    split_wire(&v)?;
    let Value::Object(mut obj) = v else {
        return Err(Error::new(Code::InvalidEnvelopeShape, "expected an object"));
    };
    let sig = match obj.remove("signature") {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    let env = obj
        .remove("envelope")
        .or_else(|| obj.remove("passport_json"))
        .unwrap_or(Value::Null);
    Ok((env, sig))
}

fn too_large(label: &str, n: usize) -> Error {
    Error::new(
        Code::EnvelopeTooLarge,
        format!("{label}: canonical size {n} bytes (delegation chain stripped) exceeds {MAX_CANONICAL_ENVELOPE_BYTES}"),
    )
}

/// Canonical size with `provenance.delegation_chain` replaced by `null`: the chain value occurs
/// exactly once, so subtract its canonical length and add `null`'s.
fn stripped_size(env: &Envelope, full_len: usize) -> usize {
    match env
        .json
        .get("provenance")
        .and_then(|p| p.get("delegation_chain"))
    {
        Some(chain @ Value::Array(_)) => full_len - canonical_len(chain) + 4,
        _ => full_len,
    }
}

fn decode_sig(s: Option<&str>, label: &str) -> Result<Signature> {
    let s = s.ok_or_else(|| {
        Error::new(
            Code::SignatureMalformed,
            format!("{label}: signature is missing or not a string"),
        )
    })?;
    let bytes = decode_b64_std_fixed::<64>(s, "signature", Code::SignatureMalformed)
        .map_err(|e| e.at(label))?;
    Ok(Signature::from(bytes))
}

fn decode_key(s: &str, label: &str) -> Result<PublicKey> {
    let bytes = decode_b64_std_fixed::<32>(s, "public key", Code::PublicKeyMalformed)
        .map_err(|e| e.at(label))?;
    PublicKey::from_bytes(&bytes)
        .map_err(|e| Error::new(Code::PublicKeyMalformed, format!("{label}: {}", e.detail())))
}

fn check_sig(
    key: &PublicKey,
    msg: &[u8],
    sig: &Signature,
    non_finite: bool,
    label: &str,
) -> Result<()> {
    if non_finite {
        return Err(Error::new(
            Code::SignatureInvalid,
            format!("{label}: the envelope contains a number that overflows a double; no signature can cover it"),
        ));
    }
    key.verify_strict(msg, sig).map_err(|_| {
        Error::new(
            Code::SignatureInvalid,
            format!("{label}: Ed25519 signature does not verify"),
        )
    })
}

/// Resolves the signer of a root (or single) envelope: its own key when self-issued, the trust
/// store's key for platform and gate issuers.
fn root_signer(env: &Envelope, label: &str, opts: &VerifyOptions<'_>) -> Result<Option<PublicKey>> {
    match env.issuer.kind {
        IssuerType::SelfIssued => Ok(None),
        IssuerType::Delegate => Err(Error::new(
            Code::DelegationChainInvalidRoot,
            format!("{label}: issuer type 'delegate' requires a delegation chain rooted in a self, platform or gate passport"),
        )),
        kind @ (IssuerType::Platform | IssuerType::Gate) => {
            let resolved = match opts.resolver {
                Some(r) => r.resolve(kind, &env.issuer.id, &env.issuer.key_id, opts.now).map_err(|e| e.at(label))?,
                None => None,
            };
            match resolved {
                Some(k) => Ok(Some(k)),
                None => Err(Error::new(
                    Code::SignatureKeyUnavailable,
                    format!(
                        "{label}: {} issuer {:?} key {:?} is not in the trust store",
                        kind.as_str(),
                        env.issuer.id,
                        env.issuer.key_id
                    ),
                )),
            }
        }
    }
}

fn verify_inner(
    v: Value,
    sig: Option<&str>,
    non_finite: bool,
    opts: &VerifyOptions<'_>,
) -> Result<VerifiedEnvelope> {
    // What RFC 8785 signs for an integer beyond 2^53 is its double. Read such integers as that
    // double, so that what the gate enforces is exactly what was signed (otherwise the wire
    // could say 9007199254740993 under a signature over 9007199254740992).
    // The schema version is checked first, on the number as written (the reference's order).
    Envelope::check_schema_version(&v)?;
    let mut v = v;
    to_signed_numbers(&mut v);
    // 0-1. Schema version, then shape.
    let env = Envelope::from_owned(v)?;
    // 2. Size of the top-level envelope, chain stripped, before any signature work.
    let signing_input = canonicalize(&env.json);
    let size = stripped_size(&env, signing_input.len());
    if size > MAX_CANONICAL_ENVELOPE_BYTES {
        return Err(too_large("envelope", size));
    }

    let (tier, signer) = match &env.delegation_chain {
        // 3. Single envelope.
        None => {
            let trusted = root_signer(&env, "envelope", opts)?;
            let signature = decode_sig(sig, "envelope")?;
            let key = match trusted {
                Some(k) => k,
                None => decode_key(&env.public_key, "envelope.identity.public_key")?,
            };
            check_sig(&key, &signing_input, &signature, non_finite, "envelope")?;
            (Tier::of_issuer(env.issuer.kind).unwrap_or(Tier::L0), key)
        }
        // 4. Delegation chain.
        Some(chain) => verify_chain(&env, chain, sig, &signing_input, non_finite, opts)?,
    };

    // Our strict layer.
    let (issued_at, expires_at) = strict_checks(&env, &signer, opts)?;
    let agent_key = match &env.delegation_chain {
        None if env.issuer.kind == IssuerType::SelfIssued => signer.clone(),
        _ => decode_key(&env.public_key, "envelope.identity.public_key")?,
    };
    Ok(VerifiedEnvelope {
        signed: SignedEnvelope {
            envelope: env,
            signature: sig.unwrap_or_default().to_owned(),
        },
        tier,
        signer,
        agent_key,
        issued_at,
        expires_at,
        signing_input,
    })
}

fn verify_chain(
    leaf: &Envelope,
    chain: &[ChainLink],
    leaf_sig: Option<&str>,
    leaf_input: &[u8],
    non_finite: bool,
    opts: &VerifyOptions<'_>,
) -> Result<(Tier, PublicKey)> {
    if chain.len() > MAX_DELEGATION_DEPTH {
        return Err(Error::new(
            Code::DelegationChainTooDeep,
            format!(
                "delegation chain has {} links; at most {MAX_DELEGATION_DEPTH} are allowed",
                chain.len()
            ),
        ));
    }
    let Some(root) = chain.first() else {
        return Err(Error::new(
            Code::DelegationChainInvalidRoot,
            "delegation_chain is an empty array; use null or at least one link",
        ));
    };
    if root.envelope.delegation_chain.is_some() {
        return Err(Error::new(
            Code::DelegationChainInvalidRoot,
            "chain[0]: the root must have a null delegation_chain",
        ));
    }
    let mut inputs = Vec::with_capacity(chain.len());
    for (i, link) in chain.iter().enumerate() {
        let input = canonicalize(&link.envelope.json);
        let size = stripped_size(&link.envelope, input.len());
        if size > MAX_CANONICAL_ENVELOPE_BYTES {
            return Err(too_large(&format!("chain[{i}]"), size));
        }
        if !link.envelope.delegation_authority {
            return Err(Error::new(
                Code::DelegationAuthorityMissing,
                format!("chain[{i}]: delegation_authority is false, so it cannot delegate"),
            ));
        }
        inputs.push(input);
    }

    // Signatures: the root by its own (or trusted) key, each later link by its parent's key.
    let trusted = root_signer(&root.envelope, "chain[0]", opts)?;
    let sig0 = decode_sig(Some(&root.signature), "chain[0]")?;
    let key0 = match trusted {
        Some(k) => k,
        None => decode_key(&root.envelope.public_key, "chain[0].identity.public_key")?,
    };
    check_sig(&key0, &inputs[0], &sig0, non_finite, "chain[0]")?;
    let mut parent_key = decode_key(&root.envelope.public_key, "chain[0].identity.public_key");
    for (i, link) in chain.iter().enumerate().skip(1) {
        let label = format!("chain[{i}]");
        let sig = decode_sig(Some(&link.signature), &label)?;
        let key = parent_key?;
        check_sig(&key, &inputs[i], &sig, false, &label)?;
        parent_key = decode_key(
            &link.envelope.public_key,
            &format!("{label}.identity.public_key"),
        );
    }
    let sig = decode_sig(leaf_sig, "leaf")?;
    let signer = parent_key?;
    check_sig(&signer, leaf_input, &sig, false, "leaf")?;

    // Subset and expiry, pair by pair from the root down, subset first within each pair.
    for i in 0..chain.len() {
        let anc = &chain[i].envelope;
        let (desc, label) = match chain.get(i + 1) {
            Some(next) => (&next.envelope, format!("chain[{i}]→chain[{}]", i + 1)),
            None => (leaf, format!("chain[{i}]→leaf")),
        };
        check_subset(anc, desc, &label)?;
        let (a, d) = (
            parse_ts(&anc.expires_at, &label)?,
            parse_ts(&desc.expires_at, &label)?,
        );
        if d > a {
            return Err(Error::new(
                Code::ExpiryExtensionInChain,
                format!(
                    "{label}: descendant expires_at {} is after ancestor expires_at {}",
                    desc.expires_at, anc.expires_at
                ),
            ));
        }
    }
    let tier = Tier::of_issuer(root.envelope.issuer.kind).unwrap_or(Tier::L0);
    Ok((tier, signer))
}

fn parse_ts(s: &str, label: &str) -> Result<Timestamp> {
    Timestamp::parse_rfc3339(s).map_err(|e| e.at(label))
}

fn mismatch(label: &str, what: String) -> Error {
    Error::new(Code::IdentityMismatch, format!("{label}: {what}"))
}

/// Checks the identifiers a self-issued envelope derives from its key.
fn check_self_identity(env: &Envelope, key: &PublicKey, label: &str) -> Result<()> {
    let (want_agent, want_issuer) = key.self_ids();
    if env.agent_id != want_agent {
        return Err(mismatch(
            label,
            format!(
                "agent_id {:?} is not derived from the public key (expected {want_agent:?})",
                env.agent_id
            ),
        ));
    }
    if env.issuer.id != want_issuer {
        return Err(mismatch(
            label,
            format!(
                "issuer.id {:?} is not derived from the public key (expected {want_issuer:?})",
                env.issuer.id
            ),
        ));
    }
    if env.issuer.key_id != "self" {
        return Err(mismatch(
            label,
            format!(
                "issuer.key_id of a self-issued passport must be \"self\", got {:?}",
                env.issuer.key_id
            ),
        ));
    }
    Ok(())
}

/// The strict layer: timestamps, the validity window at the caller's clock, identity binding and
/// chain consistency. Returns the leaf's window.
fn strict_checks(
    env: &Envelope,
    signer: &PublicKey,
    opts: &VerifyOptions<'_>,
) -> Result<(Timestamp, Timestamp)> {
    let issued_at = parse_ts(&env.issued_at, "envelope.provenance.issued_at")?;
    let expires_at = parse_ts(&env.expires_at, "envelope.provenance.expires_at")?;

    match &env.delegation_chain {
        None => {
            if env.issuer.kind == IssuerType::SelfIssued {
                // A self-issued envelope was verified with its own identity.public_key.
                check_self_identity(env, signer, "envelope")?;
            }
        }
        Some(chain) => {
            let root = &chain[0].envelope;
            if root.issuer.kind == IssuerType::SelfIssued {
                let key = decode_key(&root.public_key, "chain[0].identity.public_key")?;
                check_self_identity(root, &key, "chain[0]")?;
            }
            let want_issuer = format!("delegate:{}", root.passport_id);
            let links = chain
                .iter()
                .map(|l| &l.envelope)
                .skip(1)
                .chain(std::iter::once(env));
            let mut parent = root;
            for (i, link) in links.enumerate() {
                let label = if i + 1 == chain.len() {
                    "leaf".to_owned()
                } else {
                    format!("chain[{}]", i + 1)
                };
                parse_ts(&link.issued_at, &format!("{label}.provenance.issued_at"))?;
                parse_ts(&link.expires_at, &format!("{label}.provenance.expires_at"))?;
                if link.issuer.kind != IssuerType::Delegate {
                    return Err(mismatch(
                        &label,
                        format!(
                            "issuer.type must be 'delegate' below the root, got '{}'",
                            link.issuer.kind.as_str()
                        ),
                    ));
                }
                if link.issuer.id != want_issuer {
                    return Err(mismatch(
                        &label,
                        format!(
                            "issuer.id {:?} must name the chain root ({want_issuer:?})",
                            link.issuer.id
                        ),
                    ));
                }
                if link.issuer.key_id != parent.issuer.key_id {
                    return Err(mismatch(
                        &label,
                        format!(
                            "issuer.key_id {:?} must equal the parent's {:?}",
                            link.issuer.key_id, parent.issuer.key_id
                        ),
                    ));
                }
                let key = decode_key(&link.public_key, &format!("{label}.identity.public_key"))?;
                if link.agent_id != key.self_agent_id() {
                    return Err(mismatch(
                        &label,
                        format!(
                            "agent_id {:?} is not derived from its public key",
                            link.agent_id
                        ),
                    ));
                }
                if root.issuer.kind == IssuerType::Gate
                    && (link.gate_id != root.gate_id
                        || link.catalog_content_hash != root.catalog_content_hash
                        || link.catalog_version != root.catalog_version)
                {
                    return Err(mismatch(&label, "a delegation from a gate passport must carry the root's gate_id and catalog pin".into()));
                }
                parent = link;
            }
            // Each link's own nested chain must be exactly the links above it.
            for (i, link) in chain.iter().enumerate().skip(1) {
                let nested = link.envelope.json.pointer("/provenance/delegation_chain");
                let expected = env
                    .json
                    .pointer("/provenance/delegation_chain")
                    .and_then(Value::as_array)
                    .map(|a| &a[..i]);
                let consistent = matches!((nested, expected), (Some(Value::Array(n)), Some(e)) if n.as_slice() == e);
                if !consistent {
                    return Err(mismatch(
                        &format!("chain[{i}]"),
                        "its own delegation_chain differs from the links above it".into(),
                    ));
                }
            }
        }
    }

    if expires_at < issued_at {
        return Err(Error::new(
            Code::PassportValidityInverted,
            format!(
                "expires_at {} is before issued_at {}",
                env.expires_at, env.issued_at
            ),
        ));
    }
    if opts.now.plus_millis(-opts.leeway_ms) >= expires_at {
        return Err(Error::new(
            Code::PassportExpired,
            format!("passport expired at {}", env.expires_at),
        ));
    }
    if issued_at > opts.now.plus_millis(opts.leeway_ms) {
        return Err(Error::new(
            Code::PassportNotYetValid,
            format!("passport is issued in the future ({})", env.issued_at),
        ));
    }
    Ok((issued_at, expires_at))
}

/// Replaces every integer whose magnitude exceeds 2^53 with the double RFC 8785 canonicalizes it
/// to. Smaller integers are exact doubles already and stay integers.
fn to_signed_numbers(v: &mut Value) {
    const EXACT: u64 = 1 << 53;
    match v {
        Value::Number(n) => {
            let big = n.as_u64().is_some_and(|u| u > EXACT)
                || n.as_i64().is_some_and(|i| i.unsigned_abs() > EXACT);
            if big {
                if let Some(d) = n.as_f64().and_then(serde_json::Number::from_f64) {
                    *n = d;
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(to_signed_numbers),
        Value::Object(map) => map.values_mut().for_each(to_signed_numbers),
        _ => {}
    }
}
