//! One error type for the whole crate.
//!
//! Every failure carries a stable snake_case [`Code`] (Modei's own code where one exists) and a
//! `detail` a person can act on, naming the field or path at fault. Codes are grouped into
//! [`Family`]s so that bindings can map them to exception classes (`PassportError`,
//! `TrustError`, ...). The table of codes below is the single source of truth: `docs/errors.md`
//! is generated from [`Code::ALL`] and a test fails if the two drift.

use std::fmt;

/// The families a caller catches. Bindings map each to an exception / `Error` subclass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// Malformed JSON, RFC 8785 rejections, resource bounds on JSON input.
    Canonicalization,
    /// Key and signature encodings, raw signature verification, credentials files.
    Key,
    /// Passport parsing and verification, both wire forms, delegation.
    Passport,
    /// Trust store, issuer policy, key windows, revocation.
    Trust,
    /// Gate pipeline and constraint evaluation (only errors; a `block` is a decision, not an error).
    Constraint,
    /// Attestations, chains, logs and checkpoints.
    Attestation,
    /// Permission catalogs, consumption receipts and settlement.
    Catalog,
    /// Shared state store failures.
    State,
    /// Bad arguments or configuration given by the caller.
    Input,
}

impl Family {
    /// The snake_case name used in JSON and by bindings.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Canonicalization => "canonicalization",
            Family::Key => "key",
            Family::Passport => "passport",
            Family::Trust => "trust",
            Family::Constraint => "constraint",
            Family::Attestation => "attestation",
            Family::Catalog => "catalog",
            Family::State => "state",
            Family::Input => "input",
        }
    }
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $family:ident, $code:literal, $meaning:literal; )*) => {
        /// A stable, snake_case failure code. The string form never changes once published.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Code { $( $(#[$doc])* $variant, )* }

        impl Code {
            /// Every code, in table order (used to generate `docs/errors.md`).
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            /// The wire / binding form of the code.
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $code, )* }
            }

            /// The family a caller catches this code under.
            pub fn family(self) -> Family {
                match self { $( Code::$variant => Family::$family, )* }
            }

            /// One sentence on what the code means, for the published error table.
            pub fn meaning(self) -> &'static str {
                match self { $( Code::$variant => $meaning, )* }
            }

            /// Looks a code up by its string form.
            pub fn from_str_code(s: &str) -> Option<Code> {
                match s { $( $code => Some(Code::$variant), )* _ => None }
            }
        }
    };
}

codes! {
    // --- JSON and RFC 8785 -------------------------------------------------------------------
    JsonSyntax = Canonicalization, "json_syntax", "The input is not well-formed JSON (or not valid UTF-8).";
    JsonDuplicateKey = Canonicalization, "json_duplicate_key", "An object in signed material repeats a key; a parser differential is an attack, so strict readers refuse it.";
    JsonTooDeep = Canonicalization, "json_too_deep", "JSON nesting exceeds the configured depth limit.";
    JsonTooLarge = Canonicalization, "json_too_large", "JSON input exceeds the configured size limit.";
    NonFiniteNumber = Canonicalization, "non_finite_number_in_canonical_input", "NaN or an infinity (including number literals that overflow a double) cannot be canonicalized (RFC 8785).";

    // --- Keys and raw signatures ------------------------------------------------------------
    KeyMalformed = Key, "key_malformed", "A key is not in the expected encoding or has the wrong length.";
    KeyUnsupported = Key, "key_unsupported", "A key uses an algorithm or curve other than Ed25519.";
    JwkInvalid = Key, "jwk_invalid", "A JWK is not a valid RFC 8037 OKP/Ed25519 key.";
    PemInvalid = Key, "pem_invalid", "A PEM document is not a valid PKCS#8 private key or SPKI public key for Ed25519.";
    SignatureMalformed = Key, "signature_malformed", "A signature is not a correctly encoded 64-byte Ed25519 signature.";
    SignatureInvalid = Key, "signature_invalid", "The Ed25519 signature does not verify under RFC 8032 section 5.1.7 strict rules.";
    PublicKeyMalformed = Key, "public_key_malformed", "The signer's public key is not a correctly encoded 32-byte Ed25519 key.";
    CredentialsInvalid = Key, "credentials_invalid", "A Modei credentials file is malformed or internally inconsistent.";
    RngUnavailable = Key, "rng_unavailable", "The operating system's random number generator could not be read.";

    // --- Passports (both wire forms) --------------------------------------------------------
    InvalidEnvelopeShape = Passport, "invalid_envelope_shape", "A v2 envelope is missing a key, has an unknown key, or has a value of the wrong type.";
    UnsupportedSchemaVersion = Passport, "unsupported_schema_version", "The envelope's integer schema_version is not 2.";
    SignatureKeyUnavailable = Passport, "signature_key_unavailable", "The issuer is a platform or gate whose key is not in the caller's trust store.";
    UnsupportedIssuerType = Passport, "unsupported_issuer_type", "The issuer type is not one this verifier knows.";
    EnvelopeTooLarge = Passport, "envelope_too_large", "An envelope's canonical form (delegation chain stripped) exceeds 65536 bytes.";
    DelegationChainTooDeep = Passport, "delegation_chain_too_deep", "A delegation chain has more than 5 links.";
    DelegationChainInvalidRoot = Passport, "delegation_chain_invalid_root", "A delegation chain is empty, its root carries a chain, or a delegate passport has no chain.";
    DelegationAuthorityMissing = Passport, "delegation_authority_missing", "A link in the delegation chain does not grant delegation_authority.";
    PermissionElevationInChain = Passport, "permission_elevation_in_chain", "A delegated passport adds a permission or loosens a constraint of its parent.";
    ExpiryExtensionInChain = Passport, "expiry_extension_in_chain", "A delegated passport expires after its parent.";
    TimestampInvalid = Passport, "timestamp_invalid", "A timestamp is not in RFC 3339 form (envelopes: YYYY-MM-DDTHH:MM:SS.mmmZ).";
    PassportExpired = Passport, "passport_expired", "The passport's expiry is in the past at the verifier's clock.";
    PassportNotYetValid = Passport, "passport_not_yet_valid", "The passport's issue or not-before time is in the future at the verifier's clock.";
    PassportValidityInverted = Passport, "passport_validity_inverted", "The passport expires before it was issued.";
    IdentityMismatch = Passport, "identity_mismatch", "An identifier derived from the signing key (agent_id, self issuer id, key_id) does not match the key.";
    PassportRevoked = Passport, "passport_revoked", "The passport, its agent or its issuer key is revoked.";
    JwtMalformed = Passport, "jwt_malformed", "A compact JWS is not three canonical unpadded base64url segments with JSON header and claims.";
    JwtAlgNotAllowed = Passport, "jwt_alg_not_allowed", "The JWS alg is not Ed25519 (or EdDSA when allowed); none, HMAC and other algorithms are refused.";
    JwtTypInvalid = Passport, "jwt_typ_invalid", "The JWS typ header is not the passport type.";
    JwtCritUnsupported = Passport, "jwt_crit_unsupported", "The JWS carries crit headers (or b64:false) this verifier does not understand.";
    JwtEmbeddedKey = Passport, "jwt_embedded_key", "The JWS header carries a key or key location (jwk, jku, x5c, x5u, x5t); keys come only from the trust store, so this is refused as an attack signal.";
    JwtClaimInvalid = Passport, "jwt_claim_invalid", "A JWT claim is missing or has the wrong type.";
    TokenTooLarge = Passport, "token_too_large", "The token exceeds the configured size limit.";
    AudienceMismatch = Passport, "audience_mismatch", "The passport's audience does not include this gate.";
    DelegationBuilderInvalid = Passport, "delegation_invalid", "A delegation could not be built because the verifier would reject it.";

    // --- Trust store, policy, revocation -----------------------------------------------------
    IssuerUnknown = Trust, "issuer_unknown", "The issuer is not in the trust store.";
    IssuerNotAllowed = Trust, "issuer_not_allowed", "The issuer is known but not allowed by the verifier's policy.";
    KeyUnknown = Trust, "key_unknown", "The issuer has no key with this key id in the trust store.";
    KeyNotYetValid = Trust, "key_not_yet_valid", "The issuer key's validity window has not started.";
    KeyExpired = Trust, "key_expired", "The issuer key's validity window has ended.";
    IssuerKeyRevoked = Trust, "issuer_key_revoked", "The issuer key is revoked; passports it signed are refused whenever they were issued.";
    SelfIssuedNotAllowed = Trust, "self_issued_not_allowed", "Policy does not accept self-issued passports.";
    TrustTierInsufficient = Trust, "trust_tier_insufficient", "The passport's trust tier is below the minimum the verifier requires.";
    RevocationStale = Trust, "revocation_stale", "The revocation data is older than the profile allows.";
    TrustStoreInvalid = Trust, "trust_store_invalid", "A trust store or revocation file is malformed.";

    // --- Gate and constraints ----------------------------------------------------------------
    PermissionNotGranted = Constraint, "permission_not_granted", "The passport does not grant the requested action.";
    UnknownConstraint = Constraint, "unknown_constraint", "A constraint key has no evaluator; the gate fails closed.";
    ConstraintInvalid = Constraint, "constraint_invalid", "A constraint value does not have the documented format.";
    CelError = Constraint, "cel_error", "A CEL rule failed to compile or evaluate, or exceeded its bounds.";
    ReplayDetected = Constraint, "replay_detected", "The request nonce was already seen within the replay window.";
    PopRequired = Constraint, "pop_required", "The trust profile requires a proof of possession that was not presented.";
    PopInvalid = Constraint, "pop_invalid", "The proof of possession does not verify or is stale.";
    AnonymousNotAllowed = Constraint, "anonymous_not_allowed", "The request has no passport and anonymous access does not allow it.";
    HoldNotFound = Constraint, "hold_not_found", "No pending hold has this id.";
    HoldExpired = Constraint, "hold_expired", "The hold expired before it was approved.";
    ApprovalInvalid = Constraint, "approval_invalid", "An operator approval is malformed, not signed by a trusted operator key, or for another request.";
    ApprovalDenied = Constraint, "approval_denied", "An operator denied the held action; its reserved spend is released.";
    RequestInvalid = Constraint, "request_invalid", "The gate request is malformed.";

    // --- Attestations ------------------------------------------------------------------------
    AttestationMalformed = Attestation, "attestation_malformed", "An attestation record is not valid JSON of the documented shape.";
    AttestationSignatureInvalid = Attestation, "attestation_signature_invalid", "An attestation's signature does not verify under the gate key.";
    AttestationHashMismatch = Attestation, "attestation_hash_mismatch", "An attestation's previous hash does not match the record before it (tampering).";
    AttestationSequenceGap = Attestation, "attestation_sequence_gap", "A sequence number is skipped.";
    AttestationFork = Attestation, "attestation_fork", "Two different records carry the same sequence number.";
    AttestationReordered = Attestation, "attestation_reordered", "Records appear out of sequence order.";
    AttestationTruncated = Attestation, "attestation_truncated", "The log ends before the sequence and hash of a signed checkpoint.";
    LogTornTail = Attestation, "log_torn_tail", "The last line of a log file is incomplete (a crash during write).";
    CheckpointInvalid = Attestation, "checkpoint_invalid", "A checkpoint is malformed or its signature does not verify.";

    // --- Catalogs and receipts ---------------------------------------------------------------
    CatalogMalformed = Catalog, "catalog_malformed", "A catalog is not of the documented shape.";
    CatalogSignatureInvalid = Catalog, "catalog_signature_invalid", "A catalog's signature does not verify under the gate key.";
    CatalogHashMismatch = Catalog, "catalog_hash_mismatch", "A catalog's content hash does not match its canonical bytes.";
    CatalogPinUnknown = Catalog, "catalog_pin_unknown", "The passport pins a catalog version or hash this gate does not hold.";
    CatalogPinIncompatible = Catalog, "catalog_pin_incompatible", "The passport pins a catalog version below min_compatible_version.";
    CatalogVersionInvalid = Catalog, "catalog_version_invalid", "A new catalog version does not increase on the previous one.";
    ReceiptInvalid = Catalog, "receipt_invalid", "A consumption receipt is malformed or a signature on it does not verify.";

    // --- State store -------------------------------------------------------------------------
    StateUnavailable = State, "state_unavailable", "The shared state store could not be reached; the gate fails closed.";

    // --- Caller input ------------------------------------------------------------------------
    InvalidArgument = Input, "invalid_argument", "An argument or configuration value is invalid.";
    LimitExceeded = Input, "limit_exceeded", "An input exceeds a documented resource limit.";
    IoError = Input, "io_error", "A file could not be read or written (CLI and bindings only; the core does no I/O).";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The crate's error: a stable code plus a human-readable detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct Error {
    code: Code,
    detail: String,
}

impl Error {
    /// Builds an error with a code and a detail message.
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        Error {
            code,
            detail: detail.into(),
        }
    }

    /// The stable code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The human-readable detail (names the field or path at fault).
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// Prefixes the detail with a location, e.g. `chain[1]: `.
    pub fn at(mut self, location: &str) -> Self {
        self.detail = format!("{location}: {}", self.detail);
        self
    }
}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `Error::new` as a free function, for brevity in `map_err` chains.
pub fn err(code: Code, detail: impl Into<String>) -> Error {
    Error::new(code, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            let s = c.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "not snake_case: {s}"
            );
            assert_eq!(Code::from_str_code(s), Some(*c));
            assert!(!c.meaning().is_empty());
        }
    }
}
