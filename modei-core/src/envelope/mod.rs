//! Modei v2 passport envelopes: RFC 8785 canonical JSON with a detached Ed25519 signature.
//!
//! This is the wire form Modei's shipped SDKs sign (see `docs/passport-v2.md`). The module
//! reads top-down:
//! - [`model`]: the typed envelope and its exact shape rules (every key present, nullables
//!   explicit, unknown keys rejected, no type coercion);
//! - [`subset`]: the delegation tightening rules (a child may only narrow its parent);
//! - [`verify`]: the verification pipeline, in the reference's order, then our strict checks;
//! - [`issue`]: self-issue and the delegation builder, byte-identical to the reference SDKs.

pub mod issue;
pub mod model;
pub mod subset;
pub mod verify;

pub use issue::{DelegationBuilder, SelfIssue};
pub use model::{ChainLink, Envelope, Issuer, IssuerType, Permission, SignedEnvelope, Tier};
pub use verify::{
    verify_text, verify_value, verify_wire, IssuerKeyResolver, VerifiedEnvelope, VerifyOptions,
};

/// The only schema version this module reads and writes.
pub const SCHEMA_VERSION: u64 = 2;
/// Maximum RFC 8785 size of one envelope, with its delegation chain replaced by `null`.
/// Exactly this many bytes passes; one more is `envelope_too_large` (as in the reference).
pub const MAX_CANONICAL_ENVELOPE_BYTES: usize = 65536;
/// Maximum number of links in a delegation chain.
pub const MAX_DELEGATION_DEPTH: usize = 5;
