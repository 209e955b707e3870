//! Modei's agent credentials file (format version 1, defined by Modei's SDKs).
//!
//! ```text
//! {
//!   "agent_id": "agent_self_…",
//!   "created_at": "2026-01-01T00:00:00Z",
//!   "private_key_base64": "<standard base64 of the 32-byte seed>",
//!   "public_key_base64": "<standard base64 of the 32-byte public key>",
//!   "version": 1
//! }
//! ```
//!
//! [`Credentials::to_file_text`] writes exactly what the Python and TypeScript SDKs write (keys
//! sorted, two-space indent, `": "`, no trailing newline), so files move between them.
//! [`Credentials::from_file_text`] makes the Python reference's load checks, in its order,
//! plus a few stricter ones listed on the method. Permissions (0600) and atomic writes are
//! file-system matters and belong to the CLI; this module does no I/O.

use crate::encoding::decode_b64_std_fixed;
use crate::error::{Code, Error, Result};
use crate::keys::{parse_object_unique_keys, zeroize_json_strings, PublicKey, SigningKey};
use crate::time::Timestamp;
use serde_json::{Map, Value};
use std::fmt;
use zeroize::Zeroizing;

/// The only format version this module reads or writes.
pub const CREDENTIALS_VERSION: u64 = 1;

/// An agent's key pair with its derived agent id and creation time.
///
/// The fields are private so that `agent_id` can never disagree with the key.
#[derive(Clone)]
pub struct Credentials {
    agent_id: String,
    created_at: Timestamp,
    /// The `created_at` text exactly as written or read, so that loading and saving a file
    /// reproduces it byte for byte.
    created_at_text: String,
    signing_key: SigningKey,
}

impl fmt::Debug for Credentials {
    /// Never shows the seed (the `SigningKey` Debug prints only the public key).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("agent_id", &self.agent_id)
            .field("created_at", &self.created_at_text)
            .field("signing_key", &self.signing_key)
            .finish()
    }
}

fn invalid(detail: impl Into<String>) -> Error {
    Error::new(Code::CredentialsInvalid, detail)
}

impl Credentials {
    /// New credentials for `signing_key`, created at `created_at`. The file stores whole
    /// seconds (`YYYY-MM-DDTHH:MM:SSZ`), so milliseconds are dropped here, keeping what is
    /// saved and what is held equal. Failure: `timestamp_invalid` for a year outside 0..=9999.
    pub fn new(signing_key: SigningKey, created_at: Timestamp) -> Result<Self> {
        let created_at = Timestamp::from_unix_seconds(created_at.unix_seconds());
        let created_at_text = created_at.to_rfc3339_seconds()?;
        Ok(Credentials {
            agent_id: signing_key.public_key().self_agent_id(),
            created_at,
            created_at_text,
            signing_key,
        })
    }

    /// `agent_self_…`, derived from the public key.
    pub fn agent_id(&self) -> &str {
        &self.agent_id
    }

    /// When the credentials were created.
    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }

    /// The private key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing_key
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        self.signing_key.public_key()
    }

    /// The file text, byte-identical to Modei's SDKs (Python `json.dumps(sort_keys=True,
    /// indent=2)`), without a trailing newline. It contains the seed, hence `Zeroizing`.
    pub fn to_file_text(&self) -> Zeroizing<String> {
        // Every value is ASCII from a fixed alphabet (base64, agent_self_ + base64url, an RFC
        // 3339 timestamp), so none needs JSON escaping. A loaded created_at was checked to
        // be RFC 3339, which has no characters that need escaping either.
        let seed = self.signing_key.to_seed_base64();
        Zeroizing::new(format!(
            "{{\n  \"agent_id\": \"{}\",\n  \"created_at\": \"{}\",\n  \"private_key_base64\": \"{}\",\n  \"public_key_base64\": \"{}\",\n  \"version\": {}\n}}",
            self.agent_id,
            self.created_at_text,
            seed.as_str(),
            self.public_key().to_base64(),
            CREDENTIALS_VERSION
        ))
    }

    /// Loads a credentials file, refusing anything the Python reference refuses: `version`
    /// other than 1, a missing field, a seed that is not strict base64 of 32 bytes, a stored
    /// public key that differs from the one derived from the seed, an agent id that differs
    /// from the derived one. Every failure is `credentials_invalid` naming the field.
    ///
    /// Decisions where the two SDKs differ or are silent:
    /// - **Unknown extra members are accepted and ignored** (Python's behaviour; the TS
    ///   loader refuses them). They cannot change the meaning of the checked fields, and a
    ///   file annotated by a tool (a `comment`, say) should stay usable. They are not kept:
    ///   [`Credentials::to_file_text`] writes the five defined members only.
    /// - **Duplicate member names are refused** (both SDKs keep the last silently); two
    ///   `private_key_base64` values are a tampering signal, not a format.
    /// - `version` must be the JSON integer `1` (Python also takes `1.0` and `true`).
    /// - The four other members must be strings (Python would fail later with a type error).
    /// - The seed's base64 must also have canonical trailing bits (Python does not check
    ///   them; no SDK writes such a file).
    /// - `created_at` must be an RFC 3339 timestamp (Python does not look at it); its text is
    ///   kept verbatim, so saving the loaded credentials reproduces the file.
    pub fn from_file_text(text: &str) -> Result<Self> {
        let mut obj = parse_object_unique_keys(text).map_err(|e| {
            invalid(format!(
                "credentials file is not a JSON object with unique member names: {e}"
            ))
        })?;
        let result = Self::from_object(&obj);
        // The map holds the seed's base64 text; wipe it rather than leave it on the heap.
        zeroize_json_strings(&mut obj);
        result
    }

    fn from_object(obj: &Map<String, Value>) -> Result<Self> {
        match obj.get("version") {
            Some(Value::Number(n)) if n.as_u64() == Some(CREDENTIALS_VERSION) => {}
            Some(other) => {
                return Err(invalid(format!(
                    "version: unsupported credentials format version {other} (expected 1)"
                )))
            }
            None => return Err(invalid("version: missing required field 'version'")),
        }
        let agent_id = string_field(obj, "agent_id")?;
        let created_at_text = string_field(obj, "created_at")?;
        let seed_b64 = string_field(obj, "private_key_base64")?;
        let stored_public = string_field(obj, "public_key_base64")?;

        let seed = Zeroizing::new(decode_b64_std_fixed::<32>(
            seed_b64,
            "private_key_base64",
            Code::CredentialsInvalid,
        )?);
        let signing_key = SigningKey::from_seed(&seed);
        let public = signing_key.public_key();
        if public.to_base64() != stored_public {
            return Err(invalid(
                "public_key_base64 does not match the key derived from private_key_base64 \
                 (the file may be corrupt or tampered with)",
            ));
        }
        let derived = public.self_agent_id();
        if agent_id != derived {
            return Err(invalid(format!(
                "agent_id: stored {agent_id:?} does not match derived {derived:?}"
            )));
        }
        let created_at = Timestamp::parse_rfc3339(created_at_text)
            .map_err(|e| invalid(format!("created_at: {}", e.detail())))?;
        Ok(Credentials {
            agent_id: derived,
            created_at,
            created_at_text: created_at_text.to_owned(),
            signing_key,
        })
    }
}

fn string_field<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<&'a str> {
    match obj.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(invalid(format!("{name}: must be a string"))),
        None => Err(invalid(format!("{name}: missing required field '{name}'"))),
    }
}
