//! RFC 8785 canonical JSON and content hashes. See `docs/api.md` § Canonical JSON.

use crate::error::Result;
use serde_json::Value;

/// Canonical form of JSON text, read with the reference conventions (duplicate keys: the last
/// wins; lone surrogates, overflowing numbers and malformed JSON refused). UTF-8 bytes.
pub fn canonicalize(json_text: &[u8]) -> Result<Vec<u8>> {
    crate::canonical::canonicalize_text(json_text)
}

/// Canonical form of a JSON value.
pub fn canonicalize_value(value: &Value) -> Vec<u8> {
    crate::canonical::canonicalize(value)
}

/// Lowercase hex SHA-256 of the canonical form of JSON text (Modei's `compute_content_hash`).
pub fn content_hash(json_text: &[u8]) -> Result<String> {
    use sha2::{Digest, Sha256};
    Ok(crate::encoding::hex_encode(&Sha256::digest(canonicalize(
        json_text,
    )?)))
}

/// Lowercase hex SHA-256 of the canonical form of a JSON value.
pub fn content_hash_value(value: &Value) -> String {
    crate::canonical::content_hash(value)
}
