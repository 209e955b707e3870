//! Keys, raw signatures and credentials files. See `docs/api.md` § Keys.

use super::{invalid, parse_json, parse_time};
use crate::credentials::Credentials;
use crate::error::Result;
use crate::keys::{PublicKey, Signature, SigningKey};
use crate::time::Timestamp;
use serde_json::{Map, Value};

/// Signing-key import formats accepted by [`signing_key_import`].
pub const SIGNING_KEY_FORMATS: &[&str] = &[
    "seed",
    "seed_base64",
    "seed_base64url",
    "seed_hex",
    "jwk",
    "pem",
    "credentials",
];
/// Public-key import formats accepted by [`public_key_import`].
pub const PUBLIC_KEY_FORMATS: &[&str] = &["raw", "base64", "base64url", "hex", "jwk", "pem", "any"];

fn text<'a>(data: &'a [u8], format: &str) -> Result<&'a str> {
    std::str::from_utf8(data).map_err(|_| invalid(format!("{format}: key text is not UTF-8")))
}

/// A new key from the operating system's RNG.
#[cfg(feature = "os-rng")]
pub fn signing_key_generate() -> Result<SigningKey> {
    SigningKey::generate()
}

/// Imports a signing key. `format`: `seed` (32 raw bytes), `seed_base64`, `seed_base64url`,
/// `seed_hex`, `jwk` (private JWK JSON text), `pem` (PKCS#8), `credentials` (a credentials file).
pub fn signing_key_import(format: &str, data: &[u8]) -> Result<SigningKey> {
    match format {
        "seed" => SigningKey::from_seed_slice(data),
        "seed_base64" => SigningKey::from_seed_base64(text(data, format)?),
        "seed_base64url" => SigningKey::from_seed_base64url(text(data, format)?),
        "seed_hex" => SigningKey::from_seed_hex(text(data, format)?),
        "jwk" => SigningKey::from_jwk(&parse_json(data)?),
        "pem" => SigningKey::from_pkcs8_pem(text(data, format)?),
        "credentials" => Ok(Credentials::from_file_text(text(data, format)?)?
            .signing_key()
            .clone()),
        other => Err(invalid(format!(
            "format: unknown signing key format {other:?} (one of {SIGNING_KEY_FORMATS:?})"
        ))),
    }
}

/// Imports a signing key from a private JWK already parsed.
pub fn signing_key_from_jwk(jwk: &Value) -> Result<SigningKey> {
    SigningKey::from_jwk(jwk)
}

/// Exports a signing key: `seed_base64`, `seed_base64url`, `seed_hex`, `pem` give a string;
/// `jwk` gives the private JWK object `{"kty","crv","x","d","kid"}`. (Raw seed bytes: the
/// binding calls `SigningKey::seed`.)
pub fn signing_key_export(key: &SigningKey, format: &str) -> Result<Value> {
    Ok(match format {
        "seed_base64" => Value::String(key.to_seed_base64().to_string()),
        "seed_base64url" => Value::String(key.to_seed_base64url().to_string()),
        "seed_hex" => Value::String(key.to_seed_hex().to_string()),
        "pem" => Value::String(key.to_pkcs8_pem().to_string()),
        "jwk" => key.to_jwk_private(),
        other => {
            return Err(invalid(format!(
                "format: unknown signing key export format {other:?} (seed_base64, seed_base64url, seed_hex, pem, jwk)"
            )))
        }
    })
}

/// Imports a public key. `format`: `raw` (32 bytes), `base64`, `base64url`, `hex`, `jwk` (JSON
/// text), `pem` (SPKI), `any` (detected from the text's shape).
pub fn public_key_import(format: &str, data: &[u8]) -> Result<PublicKey> {
    match format {
        "raw" => PublicKey::from_bytes(data),
        "base64" => PublicKey::from_base64(text(data, format)?),
        "base64url" => PublicKey::from_base64url(text(data, format)?),
        "hex" => PublicKey::from_hex(text(data, format)?),
        "jwk" => PublicKey::from_jwk(&parse_json(data)?),
        "pem" => PublicKey::from_spki_pem(text(data, format)?),
        "any" => PublicKey::parse_any(text(data, format)?),
        other => Err(invalid(format!(
            "format: unknown public key format {other:?} (one of {PUBLIC_KEY_FORMATS:?})"
        ))),
    }
}

/// Exports a public key: `base64`, `base64url`, `hex`, `pem` give a string; `jwk` the object
/// `{"kty","crv","x","kid"}`.
pub fn public_key_export(key: &PublicKey, format: &str) -> Result<Value> {
    Ok(match format {
        "base64" => Value::String(key.to_base64()),
        "base64url" => Value::String(key.to_base64url()),
        "hex" => Value::String(key.to_hex()),
        "pem" => Value::String(key.to_spki_pem()),
        "jwk" => key.to_jwk(),
        other => {
            return Err(invalid(format!(
            "format: unknown public key export format {other:?} (base64, base64url, hex, pem, jwk)"
        )))
        }
    })
}

/// Everything derived from a public key:
/// `{"public_key", "base64url", "hex", "jwk", "thumbprint", "agent_id", "self_issuer_id",
/// "fingerprint", "is_weak"}` (`public_key` is standard base64).
pub fn public_key_info(key: &PublicKey) -> Value {
    let mut m = Map::new();
    m.insert("public_key".into(), Value::String(key.to_base64()));
    m.insert("base64url".into(), Value::String(key.to_base64url()));
    m.insert("hex".into(), Value::String(key.to_hex()));
    m.insert("jwk".into(), key.to_jwk());
    m.insert("thumbprint".into(), Value::String(key.thumbprint()));
    m.insert("agent_id".into(), Value::String(key.self_agent_id()));
    m.insert("self_issuer_id".into(), Value::String(key.self_issuer_id()));
    m.insert(
        "fingerprint".into(),
        Value::String(key.realtime_fingerprint()),
    );
    m.insert("is_weak".into(), Value::Bool(key.is_weak()));
    Value::Object(m)
}

/// Signs `message` (raw Ed25519, RFC 8032). The 64 signature bytes.
pub fn sign(key: &SigningKey, message: &[u8]) -> [u8; 64] {
    *key.sign(message).bytes()
}

/// A signature given as 64 raw bytes, or as text (hex, base64 or base64url, detected).
pub fn signature_from(sig: &[u8], is_text: bool) -> Result<Signature> {
    if is_text {
        Signature::parse_any(text(sig, "signature")?)
    } else {
        Signature::from_bytes(sig)
    }
}

/// Strict Ed25519 verification (`signature_invalid`, `signature_malformed`, `key_weak`...).
pub fn verify(key: &PublicKey, message: &[u8], signature: &Signature) -> Result<()> {
    key.verify_strict(message, signature)
}

/// Raw strict verification over bytes: a 32-byte key, the message, a 64-byte signature.
pub fn verify_raw(public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<()> {
    crate::keys::verify_strict(public_key, message, signature)
}

/// A credentials file (byte-identical to Modei's SDKs) for `key`, created at `created_at`
/// (RFC 3339 or Unix ms; stored in whole seconds).
pub fn credentials_create(key: &SigningKey, created_at: &Value) -> Result<String> {
    let at = parse_time(created_at, "created_at")?;
    Ok(Credentials::new(key.clone(), at)?
        .to_file_text()
        .to_string())
}

/// Loads a credentials file: the key, and `{"agent_id", "created_at", "public_key"}`.
pub fn credentials_load(file_text: &str) -> Result<(SigningKey, Value)> {
    let c = Credentials::from_file_text(file_text)?;
    let mut m = Map::new();
    m.insert("agent_id".into(), Value::String(c.agent_id().to_owned()));
    m.insert("created_at".into(), super::time_json(c.created_at()));
    m.insert(
        "public_key".into(),
        Value::String(c.public_key().to_base64()),
    );
    Ok((c.signing_key().clone(), Value::Object(m)))
}

/// Agent id, self issuer id and realtime fingerprint derived from 32 raw key bytes (no point
/// decoding: the reference derives ids from any 32 bytes).
pub fn derive_ids(raw_key: &[u8]) -> Value {
    let mut m = Map::new();
    m.insert(
        "agent_id".into(),
        Value::String(crate::keys::derive_self_agent_id(raw_key)),
    );
    m.insert(
        "self_issuer_id".into(),
        Value::String(crate::keys::derive_self_issuer_id(raw_key)),
    );
    m.insert(
        "fingerprint".into(),
        Value::String(crate::keys::derive_realtime_fingerprint(raw_key)),
    );
    Value::Object(m)
}

/// A timestamp normalised: RFC 3339 or Unix ms in, RFC 3339 with milliseconds out.
pub fn normalize_time(v: &Value) -> Result<Value> {
    let t: Timestamp = parse_time(v, "time")?;
    Ok(super::time_json(t))
}
