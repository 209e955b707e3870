//! # modei-core
//!
//! The pure core of modei: agent passports (v2 envelopes and JWTs), issuer trust, gates that
//! decide `allow` / `request_hold` / `block`, hash-linked attestations, permission catalogs and
//! receipts. No I/O, no global state, no panics on any input: every failure is an [`Error`]
//! with a stable [`Code`].
//!
//! Modules read top-down, from bytes to decisions:
//! - [`error`]: the error type and the table of codes;
//! - [`json`]: the strict JSON reader used for all signed material;
//! - [`canonical`]: RFC 8785 canonical JSON;
//! - [`encoding`]: base64 / base64url / hex helpers with strict rules;
//! - [`keys`]: Ed25519 keys, their encodings (raw, base64, hex, JWK, PEM) and strict verification;
//! - [`credentials`]: Modei's agent credentials file;
//! - [`time`]: timestamps and the injectable clock;
//! - [`envelope`]: Modei v2 passport envelopes: parse, verify, issue, delegate;
//! - [`jwt`]: the JWT wire form of a passport (compact JWS, Ed25519): decode, encode;
//! - [`trust`]: the issuer trust store (keys, windows, rotation) and the issuer policy;
//! - [`revocation`]: revocation sources and freshness;
//! - [`passport`]: one passport model for both wire forms, and the verifier;
//! - [`target`]: request targets (URLs, domains, resources) canonicalised, and domain patterns;
//! - [`constraints`]: the enforcement layer: Modei's `core:*` keys evaluated natively, in order;
//! - [`cel_rules`]: CEL rules for what the keys cannot say, compiled once, bounded;
//! - [`state`]: the state store shared across requests (rates, spend, holds, nonces, chain heads);
//! - [`attestation`]: signed, hash-linked, sequenced decision records; checkpoints; logs;
//! - [`catalog`]: signed, versioned permission catalogs, diffs and pin checks;
//! - [`gate`]: the gate: passport + request → allow / request_hold / block, attested;
//! - [`receipt`]: consumption receipts (bilateral metering) and settlement summaries.

pub mod api;
pub mod attestation;
pub mod canonical;
pub mod catalog;
pub mod cel_rules;
pub mod constraints;
pub mod credentials;
pub mod encoding;
pub mod envelope;
pub mod error;
pub mod error_table;
pub mod gate;
mod interned;
pub mod json;
pub mod jwt;
pub mod keys;
pub mod passport;
pub mod receipt;
pub mod revocation;
pub mod state;
pub mod target;
pub mod time;
pub mod trust;

pub use error::{Code, Error, Family, Result};
