//! Keys, raw signatures, credentials files, canonical JSON (`modei_core::api::{keys,
//! canonical}`); the same natives, names and semantics as modei-node/src/keys.rs.

use crate::{
    bytes_of, invalid_argument, json_to_js, opt_str_of, str_of, time_value, u8_of, OrThrow,
};
use modei_core::api;
use wasm_bindgen::prelude::*;

/// An Ed25519 private key (seed zeroized on drop).
#[wasm_bindgen(js_name = SigningKey)]
pub struct JsSigningKey {
    pub(crate) inner: modei_core::keys::SigningKey,
}

#[wasm_bindgen(js_class = SigningKey)]
impl JsSigningKey {
    /// A fresh key from `crypto.getRandomValues`.
    #[wasm_bindgen(js_name = _generate)]
    pub fn generate() -> Result<JsSigningKey, JsError> {
        Ok(JsSigningKey {
            inner: api::keys::signing_key_generate().or_throw()?,
        })
    }

    /// From the 32-byte seed.
    #[wasm_bindgen(js_name = _fromSeed)]
    pub fn from_seed(seed: JsValue) -> Result<JsSigningKey, JsError> {
        Ok(JsSigningKey {
            inner: api::keys::signing_key_import("seed", &u8_of(&seed, "seed")?).or_throw()?,
        })
    }

    /// Imports a key (`seed`, `seed_base64`, `seed_base64url`, `seed_hex`, `jwk`, `pem`, `credentials`).
    #[wasm_bindgen(js_name = _import)]
    pub fn import_key(data: JsValue, format: JsValue) -> Result<JsSigningKey, JsError> {
        let d = bytes_of(&data, "data")?;
        let f = str_of(&format, "format")?;
        Ok(JsSigningKey {
            inner: api::keys::signing_key_import(&f, &d).or_throw()?,
        })
    }

    /// Exports the key (`seed_base64`, `seed_base64url`, `seed_hex`, `pem`, `jwk`).
    pub fn export(&self, format: JsValue) -> Result<JsValue, JsError> {
        json_to_js(
            &api::keys::signing_key_export(&self.inner, &str_of(&format, "format")?).or_throw()?,
        )
    }

    /// The 32 seed bytes.
    pub fn seed(&self) -> Vec<u8> {
        self.inner.seed().to_vec()
    }

    /// The matching public key.
    #[wasm_bindgen(js_name = _publicKey)]
    pub fn public_key(&self) -> JsPublicKey {
        JsPublicKey {
            inner: self.inner.public_key(),
        }
    }

    /// Signs `message` (pure Ed25519): the 64 signature bytes.
    pub fn sign(&self, message: JsValue) -> Result<Vec<u8>, JsError> {
        Ok(api::keys::sign(&self.inner, &bytes_of(&message, "message")?).to_vec())
    }
}

/// An Ed25519 public key.
#[wasm_bindgen(js_name = PublicKey)]
pub struct JsPublicKey {
    pub(crate) inner: modei_core::keys::PublicKey,
}

fn signature_of(v: &JsValue) -> modei_core::Result<modei_core::keys::Signature> {
    if let Some(s) = v.as_string() {
        api::keys::signature_from(s.as_bytes(), true)
    } else if let Some(a) = v.dyn_ref::<js_sys::Uint8Array>() {
        api::keys::signature_from(&a.to_vec(), false)
    } else {
        Err(modei_core::Error::new(
            modei_core::Code::InvalidArgument,
            "signature: expected a string or a Uint8Array",
        ))
    }
}

#[wasm_bindgen(js_class = PublicKey)]
impl JsPublicKey {
    /// Imports a key (`raw`, `base64`, `base64url`, `hex`, `jwk`, `pem`, `any`; default `any`
    /// for text, `raw` for bytes).
    #[wasm_bindgen(js_name = _import)]
    pub fn import_key(data: JsValue, format: JsValue) -> Result<JsPublicKey, JsError> {
        let format = opt_str_of(&format, "format")?;
        let is_text = data.is_string();
        let d = bytes_of(&data, "data")?;
        let f = format.unwrap_or_else(|| if is_text { "any".into() } else { "raw".into() });
        Ok(JsPublicKey {
            inner: api::keys::public_key_import(&f, &d).or_throw()?,
        })
    }

    /// From the 32 raw bytes.
    #[wasm_bindgen(js_name = _fromBytes)]
    pub fn from_bytes(raw: JsValue) -> Result<JsPublicKey, JsError> {
        Ok(JsPublicKey {
            inner: api::keys::public_key_import("raw", &u8_of(&raw, "raw")?).or_throw()?,
        })
    }

    /// Exports the key (`base64`, `base64url`, `hex`, `pem`, `jwk`).
    pub fn export(&self, format: JsValue) -> Result<JsValue, JsError> {
        json_to_js(
            &api::keys::public_key_export(&self.inner, &str_of(&format, "format")?).or_throw()?,
        )
    }

    /// Everything derived from the key.
    pub fn info(&self) -> Result<JsValue, JsError> {
        json_to_js(&api::keys::public_key_info(&self.inner))
    }

    /// The 32 raw bytes.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.inner.bytes().to_vec()
    }

    /// Strict verification: `true` or `false` (never throws for a bad signature).
    #[wasm_bindgen(js_name = _isValid)]
    pub fn verify(&self, message: JsValue, signature: JsValue) -> Result<bool, JsError> {
        let msg = bytes_of(&message, "message")?;
        Ok(match signature_of(&signature) {
            Ok(sig) => api::keys::verify(&self.inner, &msg, &sig).is_ok(),
            Err(_) => false,
        })
    }

    /// Strict verification that throws the precise error.
    #[wasm_bindgen(js_name = _verify)]
    pub fn verify_strict(&self, message: JsValue, signature: JsValue) -> Result<(), JsError> {
        let msg = bytes_of(&message, "message")?;
        let sig = signature_of(&signature).or_throw()?;
        api::keys::verify(&self.inner, &msg, &sig).or_throw()
    }
}

/// Raw strict verification over bytes: `true` or `false`.
#[wasm_bindgen(js_name = _verifyRaw)]
pub fn verify_raw(
    public_key: JsValue,
    message: JsValue,
    signature: JsValue,
) -> Result<bool, JsError> {
    let (k, s) = (
        u8_of(&public_key, "publicKey")?,
        u8_of(&signature, "signature")?,
    );
    Ok(api::keys::verify_raw(&k, &bytes_of(&message, "message")?, &s).is_ok())
}

/// A credentials file for `key`, created at `createdAt` (RFC 3339 or Unix ms).
#[wasm_bindgen(js_name = _createCredentials)]
pub fn create_credentials(key: &JsSigningKey, created_at: JsValue) -> Result<String, JsError> {
    api::keys::credentials_create(&key.inner, &time_value(&created_at, "createdAt")?).or_throw()
}

/// Loads a credentials file: its key.
#[wasm_bindgen(js_name = _loadCredentials)]
pub fn load_credentials(file_text: JsValue) -> Result<JsSigningKey, JsError> {
    let (key, _info) = api::keys::credentials_load(&str_of(&file_text, "fileText")?).or_throw()?;
    Ok(JsSigningKey { inner: key })
}

/// Agent id, self issuer id and realtime fingerprint of 32 raw key bytes.
#[wasm_bindgen(js_name = _deriveIds)]
pub fn derive_ids(raw_key: JsValue) -> Result<JsValue, JsError> {
    json_to_js(&api::keys::derive_ids(&u8_of(&raw_key, "rawKey")?))
}

/// RFC 8785 canonical form of JSON text (read strictly).
#[wasm_bindgen(js_name = _canonicalize)]
pub fn canonicalize(json: JsValue) -> Result<String, JsError> {
    let out = api::canonical::canonicalize(&bytes_of(&json, "json")?).or_throw()?;
    String::from_utf8(out).map_err(|_| invalid_argument("canonical form is not UTF-8"))
}

/// `sha256:<hex>` of the canonical form of JSON text.
#[wasm_bindgen(js_name = _contentHash)]
pub fn content_hash(json: JsValue) -> Result<String, JsError> {
    api::canonical::content_hash(&bytes_of(&json, "json")?).or_throw()
}

/// Loads a credentials file: `{agent_id, created_at, public_key}`.
#[wasm_bindgen(js_name = _credentialsInfo)]
pub fn credentials_info(file_text: JsValue) -> Result<JsValue, JsError> {
    json_to_js(
        &api::keys::credentials_load(&str_of(&file_text, "fileText")?)
            .or_throw()?
            .1,
    )
}

/// Parses JSON text with the strict reader.
#[wasm_bindgen(js_name = _parseJson)]
pub fn parse_json(text: JsValue) -> Result<JsValue, JsError> {
    json_to_js(&api::parse_json(&bytes_of(&text, "json")?).or_throw()?)
}
