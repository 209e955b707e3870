//! Ed25519 keys and signatures: encodings, derivations and strict verification.
//!
//! - [`SigningKey`] holds a 32-byte seed (RFC 8032 private key). It is zeroized on drop and its
//!   `Debug` shows only the public key.
//! - [`PublicKey`] is a *parsed* key: the 32 bytes plus the decompressed point, so the curve
//!   arithmetic of decoding is paid once, not per verification. Parsing refuses encodings that
//!   are not on the curve or not canonical (y ≥ p, or the sign bit set on x = 0; RFC 8032
//!   §5.1.3 says decoding fails), so one key has exactly one byte string.
//! - [`Signature`] is 64 raw bytes; nothing is checked until verification.
//! - Verification is always [`PublicKey::verify_strict`]: RFC 8032 §5.1.7 with the checks
//!   libsodium makes (canonical S, no small-order public key, no small-order R). That is what
//!   Modei's Python reference (PyNaCl) accepts; the TypeScript SDK's ZIP-215 rules would accept
//!   a signature by the identity key on any message, which a trust library must not.
//!
//! Every key format users meet is read and written: raw, standard base64 (Modei's wire form),
//! base64url, hex, JWK (RFC 8037) and PEM (SPKI / PKCS#8, RFC 8410).

use crate::encoding::{
    b64_std_encode, b64url_encode, decode_b64_std_fixed, decode_b64url_fixed, decode_hex_fixed,
    hex_encode,
};
use crate::error::{Code, Error, Result};
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey};
use ed25519_dalek::Signer as _;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::fmt;
use zeroize::{Zeroize, Zeroizing};

/// Length of an Ed25519 public key, seed, and half a signature.
pub const KEY_LEN: usize = 32;
/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410 §4): SEQUENCE { SEQUENCE { OID
/// 1.3.101.112 }, BIT STRING (33 bytes, 0 unused bits) }. The key's 32 bytes follow.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
/// DER prefix of an Ed25519 PKCS#8 v1 PrivateKeyInfo (RFC 8410 §7): version 0, the algorithm,
/// and an OCTET STRING wrapping the 32-byte seed as an OCTET STRING. The seed follows.
const PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

// ------------------------------------------------------------------------------------------
// SigningKey
// ------------------------------------------------------------------------------------------

/// An Ed25519 private key (the 32-byte RFC 8032 seed). Zeroized on drop (ed25519-dalek's
/// `zeroize` feature); exports of the seed come back in [`Zeroizing`] wrappers.
#[derive(Clone)]
pub struct SigningKey {
    inner: ed25519_dalek::SigningKey,
}

impl SigningKey {
    /// From the 32-byte seed. Every 32-byte string is a valid seed.
    pub fn from_seed(seed: &[u8; KEY_LEN]) -> Self {
        SigningKey {
            inner: ed25519_dalek::SigningKey::from_bytes(seed),
        }
    }

    /// From a seed given as a slice; anything but 32 bytes is `key_malformed`.
    pub fn from_seed_slice(seed: &[u8]) -> Result<Self> {
        let arr = Zeroizing::new(<[u8; KEY_LEN]>::try_from(seed).map_err(|_| {
            Error::new(
                Code::KeyMalformed,
                format!("private key seed is {} bytes, expected 32", seed.len()),
            )
        })?);
        Ok(Self::from_seed(&arr))
    }

    /// A fresh key from the operating system's RNG. Failure: `rng_unavailable` (no fallback
    /// to a weaker source: a predictable key is worse than no key).
    #[cfg(feature = "os-rng")]
    pub fn generate() -> Result<Self> {
        let mut seed = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::fill(seed.as_mut_slice()).map_err(|e| {
            Error::new(
                Code::RngUnavailable,
                format!("the OS random number generator failed: {e}"),
            )
        })?;
        Ok(Self::from_seed(&seed))
    }

    /// The 32-byte seed, wiped when the wrapper drops.
    pub fn seed(&self) -> Zeroizing<[u8; KEY_LEN]> {
        Zeroizing::new(self.inner.to_bytes())
    }

    /// The matching public key (no point decompression needed: it is computed).
    pub fn public_key(&self) -> PublicKey {
        let vk = self.inner.verifying_key();
        PublicKey {
            bytes: vk.to_bytes(),
            vk,
        }
    }

    /// Signs `message` with pure Ed25519 (RFC 8032, no prehash, no context). Deterministic.
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.inner.sign(message).to_bytes())
    }

    /// From standard padded base64 of the seed, as Modei's credentials file stores it.
    /// Failure: `key_malformed`.
    pub fn from_seed_base64(s: &str) -> Result<Self> {
        let seed = Zeroizing::new(decode_b64_std_fixed::<KEY_LEN>(
            s,
            "private key seed",
            Code::KeyMalformed,
        )?);
        Ok(Self::from_seed(&seed))
    }

    /// Standard padded base64 of the seed (Modei's SDK form).
    pub fn to_seed_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(b64_std_encode(self.seed().as_slice()))
    }

    /// From unpadded base64url of the seed. Failure: `key_malformed`.
    pub fn from_seed_base64url(s: &str) -> Result<Self> {
        let seed = Zeroizing::new(decode_b64url_fixed::<KEY_LEN>(
            s,
            "private key seed",
            Code::KeyMalformed,
        )?);
        Ok(Self::from_seed(&seed))
    }

    /// Unpadded base64url of the seed.
    pub fn to_seed_base64url(&self) -> Zeroizing<String> {
        Zeroizing::new(b64url_encode(self.seed().as_slice()))
    }

    /// From hex of the seed (either case). Failure: `key_malformed`.
    pub fn from_seed_hex(s: &str) -> Result<Self> {
        let seed = Zeroizing::new(decode_hex_fixed::<KEY_LEN>(
            s,
            "private key seed",
            Code::KeyMalformed,
        )?);
        Ok(Self::from_seed(&seed))
    }

    /// Lowercase hex of the seed.
    pub fn to_seed_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex_encode(self.seed().as_slice()))
    }

    /// From an RFC 8037 private JWK: `kty: OKP`, `crv: Ed25519`, `d` (the seed) and `x`, which
    /// must match the key derived from `d` (a mismatched pair is how key-confusion bugs start).
    pub fn from_jwk(jwk: &Value) -> Result<Self> {
        let obj = jwk_object(jwk)?;
        check_jwk_header(obj)?;
        let d = match obj.get("d") {
            Some(Value::String(d)) => d,
            Some(_) => return Err(jwk_err("member \"d\" must be a string")),
            None => {
                return Err(jwk_err(
                    "member \"d\" is missing: a public JWK where a private key was expected",
                ))
            }
        };
        let seed = Zeroizing::new(decode_b64url_fixed::<KEY_LEN>(
            d,
            "member \"d\"",
            Code::JwkInvalid,
        )?);
        let key = Self::from_seed(&seed);
        let x = jwk_x(obj)?;
        if x != key.public_key().bytes {
            return Err(jwk_err(
                "member \"x\" does not match the public key derived from \"d\"",
            ));
        }
        Ok(key)
    }

    /// The RFC 8037 private JWK `{"kty","crv","x","d","kid"}` (`kid` = RFC 7638 thumbprint).
    ///
    /// The returned `Value` holds the seed in an ordinary `String` that serde_json does not
    /// zeroize; prefer the other exports when the key only travels in memory.
    pub fn to_jwk_private(&self) -> Value {
        let mut jwk = self.public_key().to_jwk();
        if let Value::Object(m) = &mut jwk {
            m.insert(
                "d".into(),
                Value::String(b64url_encode(self.seed().as_slice())),
            );
        }
        jwk
    }

    /// From a PKCS#8 PEM (`BEGIN PRIVATE KEY`, RFC 8410 §7, v1 or v2). A v2 document's
    /// embedded public key must match the seed. Failure: `pem_invalid`, or `key_unsupported`
    /// for another algorithm.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self> {
        let inner = ed25519_dalek::SigningKey::from_pkcs8_pem(pem).map_err(|e| match e {
            ed25519_dalek::pkcs8::Error::PublicKey(spki) => spki_error(spki, pem, true),
            ed25519_dalek::pkcs8::Error::KeyMalformed(_) => Error::new(
                Code::PemInvalid,
                "PKCS#8 private key is malformed (or its embedded public key does not match)",
            ),
            other => pem_error(&other.to_string(), pem, true),
        })?;
        Ok(SigningKey { inner })
    }

    /// PKCS#8 v1 PEM (RFC 8410 §10.3 form, the one OpenSSL writes), LF line endings, trailing
    /// newline. v1 rather than v2 because every PKCS#8 reader accepts it.
    pub fn to_pkcs8_pem(&self) -> Zeroizing<String> {
        let mut der = Zeroizing::new([0u8; 48]);
        let (prefix, rest) = der.split_at_mut(PKCS8_PREFIX.len());
        prefix.copy_from_slice(&PKCS8_PREFIX);
        rest.copy_from_slice(self.seed().as_slice());
        let body = Zeroizing::new(b64_std_encode(der.as_slice()));
        Zeroizing::new(format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            body.as_str()
        ))
    }
}

impl fmt::Debug for SigningKey {
    /// Shows the public key only; the seed never reaches a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("public_key", &self.public_key().to_base64())
            .finish_non_exhaustive()
    }
}

// ------------------------------------------------------------------------------------------
// PublicKey
// ------------------------------------------------------------------------------------------

/// A parsed Ed25519 public key: on the curve and canonically encoded. Small-order ("weak")
/// keys parse, since identifiers can still be derived from them, but never verify anything
/// (see [`PublicKey::is_weak`]).
#[derive(Clone)]
pub struct PublicKey {
    bytes: [u8; KEY_LEN],
    vk: ed25519_dalek::VerifyingKey,
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}
impl Eq for PublicKey {}

impl std::hash::Hash for PublicKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bytes.hash(state);
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PublicKey").field(&self.to_base64()).finish()
    }
}

impl PublicKey {
    /// From the 32 raw bytes. Failure (`key_malformed`): wrong length (the length is named),
    /// not a point on the curve, or a non-canonical encoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let arr = <[u8; KEY_LEN]>::try_from(bytes).map_err(|_| {
            Error::new(
                Code::KeyMalformed,
                format!("public key is {} bytes, expected 32", bytes.len()),
            )
        })?;
        Self::from_array(arr, Code::KeyMalformed)
    }

    fn from_array(bytes: [u8; KEY_LEN], code: Code) -> Result<Self> {
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|_| {
            Error::new(
                code,
                "public key is not the encoding of a point on the Ed25519 curve",
            )
        })?;
        // curve25519-dalek reduces y mod p while decompressing, so 2^255-19+k and k decode to
        // the same point, and it accepts a sign bit on x = 0. RFC 8032 allows one encoding per
        // point; checking the bytes directly is much cheaper than re-compressing the point.
        if !is_canonical_point_encoding(&bytes) {
            return Err(Error::new(
                code,
                "public key is a non-canonical encoding (y >= p, or a sign bit on x = 0)",
            ));
        }
        Ok(PublicKey { bytes, vk })
    }

    /// From standard padded base64 (Modei's `public_key` wire form). Failure: `key_malformed`.
    pub fn from_base64(s: &str) -> Result<Self> {
        Self::from_array(
            decode_b64_std_fixed::<KEY_LEN>(s, "public key", Code::KeyMalformed)?,
            Code::KeyMalformed,
        )
    }

    /// From unpadded base64url. Failure: `key_malformed`.
    pub fn from_base64url(s: &str) -> Result<Self> {
        Self::from_array(
            decode_b64url_fixed::<KEY_LEN>(s, "public key", Code::KeyMalformed)?,
            Code::KeyMalformed,
        )
    }

    /// From hex (either case). Failure: `key_malformed`.
    pub fn from_hex(s: &str) -> Result<Self> {
        Self::from_array(
            decode_hex_fixed::<KEY_LEN>(s, "public key", Code::KeyMalformed)?,
            Code::KeyMalformed,
        )
    }

    /// From an RFC 8037 public JWK. `kty` must be `OKP` and `crv` `Ed25519` (another type or
    /// curve, e.g. `EC` or `X25519`, is `key_unsupported`); `x` must be canonical unpadded
    /// base64url of 32 bytes. A `d` member is refused (`jwk_invalid`): private material where
    /// a public key was expected is a leak the caller should hear about, not have ignored.
    /// `alg`, if present, must be `EdDSA` or `Ed25519`; `use`, if present, must be `sig`.
    /// Other members (`kid`, `key_ops`, ...) are ignored.
    pub fn from_jwk(jwk: &Value) -> Result<Self> {
        let obj = jwk_object(jwk)?;
        check_jwk_header(obj)?;
        if obj.contains_key("d") {
            return Err(jwk_err(
                "private key material (\"d\") where a public key was expected",
            ));
        }
        Self::from_array(jwk_x(obj)?, Code::JwkInvalid)
    }

    /// From an SPKI PEM (`BEGIN PUBLIC KEY`, RFC 8410 §4). Failure: `pem_invalid`, or
    /// `key_unsupported` for another algorithm.
    pub fn from_spki_pem(pem: &str) -> Result<Self> {
        let vk = ed25519_dalek::VerifyingKey::from_public_key_pem(pem)
            .map_err(|e| spki_error(e, pem, false))?;
        Self::from_array(vk.to_bytes(), Code::PemInvalid)
    }

    /// Parses a key in any supported text form, detected from its shape (surrounding
    /// whitespace is ignored): PEM (`-----BEGIN`), JWK JSON text (`{`, duplicate members
    /// refused), 64 hex digits, standard base64 (44 characters with `=`, or containing `+`/`/`),
    /// otherwise unpadded base64url. Each form is then decoded strictly. Meant for CLIs and
    /// configuration; protocol code should call the one decoder its format specifies.
    pub fn parse_any(s: &str) -> Result<Self> {
        let t = s.trim();
        if t.starts_with("-----BEGIN") {
            return Self::from_spki_pem(t);
        }
        if t.starts_with('{') {
            let obj = parse_object_unique_keys(t)
                .map_err(|e| jwk_err(format!("not a JSON object: {e}")))?;
            return Self::from_jwk(&Value::Object(obj));
        }
        if t.len() == 2 * KEY_LEN && t.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Self::from_hex(t);
        }
        if looks_std_base64(t) {
            return Self::from_base64(t);
        }
        if t.is_empty() {
            return Err(Error::new(Code::KeyMalformed, "public key is empty"));
        }
        Self::from_base64url(t)
    }

    /// The 32 raw bytes.
    pub fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }

    /// Standard padded base64 (Modei's wire form).
    pub fn to_base64(&self) -> String {
        b64_std_encode(&self.bytes)
    }

    /// Unpadded base64url.
    pub fn to_base64url(&self) -> String {
        b64url_encode(&self.bytes)
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex_encode(&self.bytes)
    }

    /// The RFC 8037 JWK `{"kty":"OKP","crv":"Ed25519","x":...,"kid":<thumbprint>}`.
    pub fn to_jwk(&self) -> Value {
        let mut m = Map::new();
        m.insert("kty".into(), Value::String("OKP".into()));
        m.insert("crv".into(), Value::String("Ed25519".into()));
        m.insert("x".into(), Value::String(self.to_base64url()));
        m.insert("kid".into(), Value::String(self.thumbprint()));
        Value::Object(m)
    }

    /// SPKI PEM (`BEGIN PUBLIC KEY`, RFC 8410), LF line endings, trailing newline.
    pub fn to_spki_pem(&self) -> String {
        let mut der = [0u8; 44];
        let (prefix, rest) = der.split_at_mut(SPKI_PREFIX.len());
        prefix.copy_from_slice(&SPKI_PREFIX);
        rest.copy_from_slice(&self.bytes);
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            b64_std_encode(&der)
        )
    }

    /// RFC 7638 JWK thumbprint: unpadded base64url of SHA-256 over the canonical
    /// `{"crv":"Ed25519","kty":"OKP","x":"..."}` (members sorted, no whitespace; RFC 8037 §2).
    pub fn thumbprint(&self) -> String {
        let canonical = format!(
            "{{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"{}\"}}",
            self.to_base64url()
        );
        b64url_encode(&sha256(canonical.as_bytes()))
    }

    /// Whether the key has small order (the identity or a torsion point). Such a key can
    /// "sign" almost any message; [`PublicKey::verify_strict`] refuses it always.
    pub fn is_weak(&self) -> bool {
        self.vk.is_weak()
    }

    /// Verifies with RFC 8032 §5.1.7 strict rules (non-canonical S, small-order keys and
    /// small-order or non-canonical R are refused). Failure: `signature_invalid`.
    pub fn verify_strict(&self, message: &[u8], signature: &Signature) -> Result<()> {
        let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
        self.vk.verify_strict(message, &sig).map_err(|_| {
            let detail = if self.is_weak() {
                "public key has small order; no signature by it is accepted"
            } else {
                "Ed25519 signature does not verify under RFC 8032 strict rules"
            };
            Error::new(Code::SignatureInvalid, detail)
        })
    }

    /// Modei's agent id for a self-issued or delegate passport (see [`derive_self_agent_id`]).
    pub fn self_agent_id(&self) -> String {
        derive_self_agent_id(&self.bytes)
    }

    /// Both Modei self identifiers, `(agent_id, issuer_id)`, from one SHA-256 of the key (the
    /// verifier checks both on every self-issued passport).
    pub fn self_ids(&self) -> (String, String) {
        let digest = sha256(&self.bytes);
        let (head, _) = digest.split_at(24);
        (
            format!("agent_self_{}", b64url_encode(head)),
            format!("self:{}", hex_encode(&digest)),
        )
    }

    /// Modei's self issuer id (see [`derive_self_issuer_id`]).
    pub fn self_issuer_id(&self) -> String {
        derive_self_issuer_id(&self.bytes)
    }

    /// Modei's realtime fingerprint (see [`derive_realtime_fingerprint`]).
    pub fn realtime_fingerprint(&self) -> String {
        derive_realtime_fingerprint(&self.bytes)
    }
}

impl std::str::FromStr for PublicKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse_any(s)
    }
}

// ------------------------------------------------------------------------------------------
// Signature
// ------------------------------------------------------------------------------------------

/// A 64-byte Ed25519 signature (R ‖ S). Only the length is checked on construction; the
/// rest is verification's job.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature([u8; SIGNATURE_LEN]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Signature").field(&self.to_base64()).finish()
    }
}

impl From<[u8; SIGNATURE_LEN]> for Signature {
    fn from(bytes: [u8; SIGNATURE_LEN]) -> Self {
        Signature(bytes)
    }
}

impl Signature {
    /// From 64 raw bytes. Failure: `signature_malformed` naming the length.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        <[u8; SIGNATURE_LEN]>::try_from(bytes)
            .map(Signature)
            .map_err(|_| {
                Error::new(
                    Code::SignatureMalformed,
                    format!("signature is {} bytes, expected 64", bytes.len()),
                )
            })
    }

    /// From strict standard padded base64 (Modei's wire form: 88 characters ending `==`).
    pub fn from_base64(s: &str) -> Result<Self> {
        decode_b64_std_fixed(s, "signature", Code::SignatureMalformed).map(Signature)
    }

    /// From strict unpadded base64url (JWS form: 86 characters).
    pub fn from_base64url(s: &str) -> Result<Self> {
        decode_b64url_fixed(s, "signature", Code::SignatureMalformed).map(Signature)
    }

    /// From hex, either case (Modei's realtime form: 128 digits).
    pub fn from_hex(s: &str) -> Result<Self> {
        decode_hex_fixed(s, "signature", Code::SignatureMalformed).map(Signature)
    }

    /// Detects hex (128 digits), standard base64 (`=`, `+` or `/`, or 88 characters) or
    /// base64url, ignoring surrounding whitespace, then decodes strictly.
    pub fn parse_any(s: &str) -> Result<Self> {
        let t = s.trim();
        if t.len() == 2 * SIGNATURE_LEN && t.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Self::from_hex(t);
        }
        if looks_std_base64(t) {
            return Self::from_base64(t);
        }
        if t.is_empty() {
            return Err(Error::new(Code::SignatureMalformed, "signature is empty"));
        }
        Self::from_base64url(t)
    }

    /// The 64 raw bytes.
    pub fn bytes(&self) -> &[u8; SIGNATURE_LEN] {
        &self.0
    }

    /// Standard padded base64.
    pub fn to_base64(&self) -> String {
        b64_std_encode(&self.0)
    }

    /// Unpadded base64url.
    pub fn to_base64url(&self) -> String {
        b64url_encode(&self.0)
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex_encode(&self.0)
    }
}

impl std::str::FromStr for Signature {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse_any(s)
    }
}

// ------------------------------------------------------------------------------------------
// Free functions
// ------------------------------------------------------------------------------------------

/// Strictly verifies raw bytes: the utility for callers that hold a key and signature as byte
/// strings. The signature is checked first, then the key, as Modei's verifier does.
/// Failures: `signature_malformed` (not 64 bytes), `public_key_malformed` (not 32 bytes, not
/// on the curve, non-canonical), `signature_invalid`. Never panics, whatever the bytes.
pub fn verify_strict(public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<()> {
    let sig = Signature::from_bytes(signature)?;
    let arr = <[u8; KEY_LEN]>::try_from(public_key).map_err(|_| {
        Error::new(
            Code::PublicKeyMalformed,
            format!("public key is {} bytes, expected 32", public_key.len()),
        )
    })?;
    PublicKey::from_array(arr, Code::PublicKeyMalformed)?.verify_strict(message, &sig)
}

/// Whether `b` is the one RFC 8032 encoding of its point: y < p = 2^255 - 19, and no sign bit
/// when x = 0 (which happens exactly for y = 1 and y = p - 1).
fn is_canonical_point_encoding(b: &[u8; KEY_LEN]) -> bool {
    let sign = b[31] & 0x80 != 0;
    let mut y = *b;
    y[31] &= 0x7f;
    // y >= p  <=>  y is one of p..=2^255-1: bytes ed..ff, then 30 bytes of ff, then 7f.
    let y_ge_p = y[0] >= 0xed && y[1..31].iter().all(|&x| x == 0xff) && y[31] == 0x7f;
    if y_ge_p {
        return false;
    }
    let y_is_one = y[0] == 1 && y[1..].iter().all(|&x| x == 0);
    let y_is_p_minus_one = y[0] == 0xec && y[1..31].iter().all(|&x| x == 0xff) && y[31] == 0x7f;
    !(sign && (y_is_one || y_is_p_minus_one))
}

/// `agent_self_` + the first 32 characters of unpadded base64url(SHA-256(raw key)): the
/// agent id Modei's SDKs derive for self-issued and delegate passports (always 43 characters).
/// Takes any bytes, as the SDKs do (they do not enforce the key length).
pub fn derive_self_agent_id(raw_key: &[u8]) -> String {
    let digest = sha256(raw_key);
    // 24 bytes are exactly 32 base64 characters, so this is the 32-character prefix.
    let (head, _) = digest.split_at(24);
    format!("agent_self_{}", b64url_encode(head))
}

/// `self:` + lowercase hex SHA-256(raw key): the issuer id of a self-issued passport.
pub fn derive_self_issuer_id(raw_key: &[u8]) -> String {
    format!("self:{}", hex_encode(&sha256(raw_key)))
}

/// `sha256:` + lowercase hex SHA-256(raw key): the key fingerprint of Modei's realtime API.
pub fn derive_realtime_fingerprint(raw_key: &[u8]) -> String {
    format!("sha256:{}", hex_encode(&sha256(raw_key)))
}

// ------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Standard (not url) base64 is recognisable by its padding or its two own characters.
fn looks_std_base64(t: &str) -> bool {
    t.ends_with('=') || t.contains('+') || t.contains('/')
}

fn jwk_err(detail: impl Into<String>) -> Error {
    Error::new(Code::JwkInvalid, detail)
}

fn jwk_object(jwk: &Value) -> Result<&Map<String, Value>> {
    jwk.as_object()
        .ok_or_else(|| jwk_err("a JWK must be a JSON object"))
}

/// Checks `kty`, `crv`, `alg` and `use`. An algorithm we do not implement is
/// `key_unsupported` (a well-formed key of another kind); a missing or ill-typed member is
/// `jwk_invalid`.
fn check_jwk_header(obj: &Map<String, Value>) -> Result<()> {
    match obj.get("kty") {
        Some(Value::String(k)) if k == "OKP" => {}
        Some(Value::String(k)) => {
            return Err(Error::new(
                Code::KeyUnsupported,
                format!("JWK kty {k:?} is not supported; only OKP (Ed25519) keys are"),
            ))
        }
        Some(_) => return Err(jwk_err("member \"kty\" must be a string")),
        None => return Err(jwk_err("member \"kty\" is missing")),
    }
    match obj.get("crv") {
        Some(Value::String(c)) if c == "Ed25519" => {}
        Some(Value::String(c)) => {
            return Err(Error::new(
                Code::KeyUnsupported,
                format!("JWK crv {c:?} is not supported; only Ed25519 is"),
            ))
        }
        Some(_) => return Err(jwk_err("member \"crv\" must be a string")),
        None => return Err(jwk_err("member \"crv\" is missing")),
    }
    match obj.get("alg") {
        None => {}
        Some(Value::String(a)) if a == "EdDSA" || a == "Ed25519" => {}
        Some(Value::String(a)) => {
            return Err(Error::new(
                Code::KeyUnsupported,
                format!("JWK alg {a:?} is not EdDSA / Ed25519"),
            ))
        }
        Some(_) => return Err(jwk_err("member \"alg\" must be a string")),
    }
    match obj.get("use") {
        None => {}
        Some(Value::String(u)) if u == "sig" => {}
        Some(_) => {
            return Err(jwk_err(
                "member \"use\" must be \"sig\" for an Ed25519 signing key",
            ))
        }
    }
    Ok(())
}

fn jwk_x(obj: &Map<String, Value>) -> Result<[u8; KEY_LEN]> {
    match obj.get("x") {
        Some(Value::String(x)) => {
            decode_b64url_fixed::<KEY_LEN>(x, "member \"x\"", Code::JwkInvalid)
        }
        Some(_) => Err(jwk_err("member \"x\" must be a string")),
        None => Err(jwk_err("member \"x\" is missing")),
    }
}

/// The label of the first PEM boundary, for error messages (labels are not secret).
fn pem_label(pem: &str) -> Option<&str> {
    let rest = pem.trim_start().strip_prefix("-----BEGIN ")?;
    let end = rest.find("-----")?;
    rest.get(..end)
}

fn pem_error(cause: &str, pem: &str, want_private: bool) -> Error {
    let (want, wrong) = if want_private {
        ("PRIVATE KEY", "PUBLIC KEY")
    } else {
        ("PUBLIC KEY", "PRIVATE KEY")
    };
    let detail = match pem_label(pem) {
        Some(l) if l == wrong => format!("PEM holds a {l}; a {want} (BEGIN {want}) was expected"),
        Some(l) if l != want => {
            format!("PEM label {l:?} is not supported; expected BEGIN {want} ({cause})")
        }
        Some(_) => format!("PEM {want} document is invalid: {cause}"),
        None => format!("not a PEM document (no -----BEGIN line): {cause}"),
    };
    Error::new(Code::PemInvalid, detail)
}

fn spki_error(e: ed25519_dalek::pkcs8::spki::Error, pem: &str, want_private: bool) -> Error {
    use ed25519_dalek::pkcs8::spki::Error as E;
    match e {
        E::OidUnknown { oid } => Error::new(
            Code::KeyUnsupported,
            format!("PEM key algorithm {oid} is not Ed25519 (1.3.101.112)"),
        ),
        E::KeyMalformed => Error::new(Code::PemInvalid, "PEM key bytes are malformed"),
        other => pem_error(&other.to_string(), pem, want_private),
    }
}

/// Parses JSON text that must be an object, refusing duplicate member names at the top level.
/// serde_json keeps the last duplicate silently; for keys and credentials a second `x` or
/// `private_key_base64` is a parser differential waiting to happen, so it is an error here.
pub(crate) fn parse_object_unique_keys(
    text: &str,
) -> std::result::Result<Map<String, Value>, String> {
    serde_json::from_str::<UniqueKeysObject>(text)
        .map(|o| o.0)
        .map_err(|e| e.to_string())
}

struct UniqueKeysObject(Map<String, Value>);

impl<'de> serde::Deserialize<'de> for UniqueKeysObject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = UniqueKeysObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut access: A,
            ) -> std::result::Result<UniqueKeysObject, A::Error> {
                let mut m = Map::new();
                while let Some(k) = access.next_key::<String>()? {
                    if m.contains_key(&k) {
                        return Err(serde::de::Error::custom(format!("duplicate member {k:?}")));
                    }
                    let v: Value = access.next_value()?;
                    m.insert(k, v);
                }
                Ok(UniqueKeysObject(m))
            }
        }
        d.deserialize_map(V)
    }
}

/// Wipes the string values of a parsed JSON object that held secrets.
pub(crate) fn zeroize_json_strings(m: &mut Map<String, Value>) {
    for v in m.values_mut() {
        if let Value::String(s) = v {
            s.zeroize();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8037_thumbprint() {
        let pk = PublicKey::from_base64url("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo").unwrap();
        assert_eq!(
            pk.thumbprint(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn der_prefixes_match_dalek() {
        use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
        use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey};
        let k = SigningKey::from_seed(&[7; 32]);
        let theirs = k
            .inner
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        assert_eq!(k.public_key().to_spki_pem(), theirs);
        let v1 = ed25519_dalek::pkcs8::KeypairBytes {
            secret_key: [7; 32],
            public_key: None,
        };
        let theirs = v1.to_pkcs8_pem(LineEnding::LF).unwrap();
        assert_eq!(k.to_pkcs8_pem().as_str(), theirs.as_str());
    }

    #[test]
    fn unique_keys() {
        assert!(parse_object_unique_keys(r#"{"a":1,"a":2}"#)
            .unwrap_err()
            .contains("duplicate"));
        assert!(parse_object_unique_keys("[1]").is_err());
        assert_eq!(
            parse_object_unique_keys(r#"{"a":{"b":1}}"#).unwrap().len(),
            1
        );
    }
}
