//! Keys, raw signatures, credentials files, canonical JSON: one line per facade function
//! (`modei_core::api::{keys, canonical}`).

use crate::{bytes, Input, OrThrow};
use modei_core::api;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde_json::Value;

/// An Ed25519 private key (seed zeroized on drop).
#[napi(js_name = "SigningKey")]
pub struct JsSigningKey {
    pub(crate) inner: modei_core::keys::SigningKey,
}

#[napi]
impl JsSigningKey {
    /// A fresh key from the operating system's RNG.
    #[napi(factory, js_name = "_generate")]
    pub fn generate() -> Result<Self> {
        Ok(JsSigningKey {
            inner: api::keys::signing_key_generate().or_throw()?,
        })
    }

    /// From the 32-byte seed.
    #[napi(factory, js_name = "_fromSeed")]
    pub fn from_seed(seed: Buffer) -> Result<Self> {
        Ok(JsSigningKey {
            inner: api::keys::signing_key_import("seed", &seed).or_throw()?,
        })
    }

    /// Imports a key: `format` is `seed`, `seed_base64`, `seed_base64url`, `seed_hex`, `jwk`,
    /// `pem` (PKCS#8) or `credentials` (Modei's credentials file).
    #[napi(factory, js_name = "_import")]
    pub fn import_key(data: Input, format: String) -> Result<Self> {
        Ok(JsSigningKey {
            inner: api::keys::signing_key_import(&format, bytes(&data)).or_throw()?,
        })
    }

    /// Exports the key: `seed_base64`, `seed_base64url`, `seed_hex`, `pem` (strings) or `jwk`.
    #[napi(ts_return_type = "string | PrivateJwk")]
    pub fn export(&self, format: String) -> Result<Value> {
        api::keys::signing_key_export(&self.inner, &format).or_throw()
    }

    /// The 32 seed bytes.
    #[napi]
    pub fn seed(&self) -> Buffer {
        Buffer::from(self.inner.seed().to_vec())
    }

    /// The matching public key.
    #[napi(js_name = "_publicKey")]
    pub fn public_key(&self) -> JsPublicKey {
        JsPublicKey {
            inner: self.inner.public_key(),
        }
    }

    /// Signs `message` (pure Ed25519, RFC 8032): the 64 signature bytes.
    #[napi]
    pub fn sign(&self, message: Input) -> Buffer {
        Buffer::from(api::keys::sign(&self.inner, bytes(&message)).to_vec())
    }
}

/// An Ed25519 public key (checked: canonical point, not of small order).
#[napi(js_name = "PublicKey")]
pub struct JsPublicKey {
    pub(crate) inner: modei_core::keys::PublicKey,
}

#[napi]
impl JsPublicKey {
    /// Imports a key: `format` is `raw` (32 bytes), `base64`, `base64url`, `hex`, `jwk`, `pem`
    /// (SPKI) or `any` (detected; the default).
    #[napi(factory, js_name = "_import")]
    pub fn import_key(data: Input, format: Option<String>) -> Result<Self> {
        let format = format.as_deref().unwrap_or(match &data {
            Either::A(_) => "any",
            Either::B(_) => "raw",
        });
        Ok(JsPublicKey {
            inner: api::keys::public_key_import(format, bytes(&data)).or_throw()?,
        })
    }

    /// From the 32 raw bytes.
    #[napi(factory, js_name = "_fromBytes")]
    pub fn from_bytes(raw: Buffer) -> Result<Self> {
        Ok(JsPublicKey {
            inner: api::keys::public_key_import("raw", &raw).or_throw()?,
        })
    }

    /// Exports the key: `base64`, `base64url`, `hex`, `pem` (strings) or `jwk`.
    #[napi(ts_return_type = "string | PublicJwk")]
    pub fn export(&self, format: String) -> Result<Value> {
        api::keys::public_key_export(&self.inner, &format).or_throw()
    }

    /// Everything derived from the key (encodings, JWK, thumbprint, agent id, issuer id).
    #[napi(ts_return_type = "PublicKeyInfo")]
    pub fn info(&self) -> Value {
        api::keys::public_key_info(&self.inner)
    }

    /// The 32 raw bytes.
    #[napi]
    pub fn to_bytes(&self) -> Buffer {
        Buffer::from(self.inner.bytes().to_vec())
    }

    /// Strict verification: `true` if `signature` (64 bytes, or hex / base64 / base64url text)
    /// is this key's signature over `message`; `false` otherwise (never throws for a bad
    /// signature).
    #[napi(js_name = "_isValid")]
    pub fn verify(&self, message: Input, signature: Input) -> bool {
        let sig = match &signature {
            Either::A(s) => api::keys::signature_from(s.as_bytes(), true),
            Either::B(b) => api::keys::signature_from(b, false),
        };
        match sig {
            Ok(sig) => api::keys::verify(&self.inner, bytes(&message), &sig).is_ok(),
            Err(_) => false,
        }
    }

    /// Strict verification that throws the precise error (`signature_invalid`,
    /// `signature_malformed`, `key_weak`...) instead of returning `false`.
    #[napi(js_name = "_verify")]
    pub fn verify_strict(&self, message: Input, signature: Input) -> Result<()> {
        let sig = match &signature {
            Either::A(s) => api::keys::signature_from(s.as_bytes(), true),
            Either::B(b) => api::keys::signature_from(b, false),
        }
        .or_throw()?;
        api::keys::verify(&self.inner, bytes(&message), &sig).or_throw()
    }
}

/// Raw strict verification over bytes (a 32-byte key, the message, a 64-byte signature):
/// `true` or `false`, never a throw for a bad key or signature.
#[napi(js_name = "_verifyRaw")]
pub fn verify_raw(public_key: Buffer, message: Input, signature: Buffer) -> bool {
    api::keys::verify_raw(&public_key, bytes(&message), &signature).is_ok()
}

/// A credentials file (byte-identical to Modei's SDKs) for `key`, created at `createdAt`
/// (RFC 3339 string or Unix milliseconds).
#[napi(js_name = "_createCredentials")]
pub fn create_credentials(key: &JsSigningKey, created_at: Either<String, i64>) -> Result<String> {
    let at = match created_at {
        Either::A(s) => Value::String(s),
        Either::B(n) => Value::from(n),
    };
    api::keys::credentials_create(&key.inner, &at).or_throw()
}

/// Loads a credentials file: its key.
#[napi(js_name = "_loadCredentials")]
pub fn load_credentials(file_text: String) -> Result<JsSigningKey> {
    let (key, _info) = api::keys::credentials_load(&file_text).or_throw()?;
    Ok(JsSigningKey { inner: key })
}

/// Agent id, self issuer id and realtime fingerprint of 32 raw key bytes.
#[napi(js_name = "_deriveIds")]
pub fn derive_ids(raw_key: Buffer) -> Value {
    api::keys::derive_ids(&raw_key)
}

/// RFC 8785 canonical form of JSON text (read strictly).
#[napi(js_name = "_canonicalize")]
pub fn canonicalize(json: Input) -> Result<String> {
    let out = api::canonical::canonicalize(bytes(&json)).or_throw()?;
    // The canonical form of valid UTF-8 input is valid UTF-8.
    String::from_utf8(out).map_err(|_| crate::invalid_argument("canonical form is not UTF-8"))
}

/// `sha256:<hex>` of the canonical form of JSON text.
#[napi(js_name = "_contentHash")]
pub fn content_hash(json: Input) -> Result<String> {
    api::canonical::content_hash(bytes(&json)).or_throw()
}

/// Loads a credentials file: `{agent_id, created_at, public_key}`.
#[napi(js_name = "_credentialsInfo")]
pub fn credentials_info(file_text: String) -> Result<Value> {
    Ok(api::keys::credentials_load(&file_text).or_throw()?.1)
}

/// Parses JSON text with the strict reader (duplicate keys, lone surrogates refused).
#[napi(js_name = "_parseJson")]
pub fn parse_json(text: Input) -> Result<Value> {
    api::parse_json(bytes(&text)).or_throw()
}
