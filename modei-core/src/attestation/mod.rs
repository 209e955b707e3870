//! Gate attestations: signed, hash-linked, per-passport sequenced records of every decision.
//!
//! A gate signs one [`Attestation`] per decision. Records for the same `(gate_id, passport_id)`
//! form a chain: each carries its `sequence` (1, 2, 3, ...) and the BLAKE3 link hash of the
//! record before it (`prev_hash`); the first record links to a per-chain genesis value. Gaps,
//! forks, reordering, tampering and truncation are then detectable by the gate, the agent, or
//! anyone holding the gate's public key. The format is specified in `docs/attestations.md`.
//!
//! - [`Attestor`] + [`AttestationDraft`]: create, sign and link one record (the gate's hot path);
//! - [`Attestation`]: a sealed record (parse, canonical bytes, link hash, JSON line);
//! - [`Checkpoint`]: a signed statement "chain (or log) X has reached sequence n with hash h";
//! - [`LogVerifier`] / [`verify_jsonl`]: streaming verification of a log of interleaved chains
//!   in bounded memory, reporting the first failure with its index and code;
//! - [`AttestationLog`], [`MemoryLog`] and (feature `fs`) [`FileLog`]: append-only logs.

mod checkpoint;
#[cfg(all(
    feature = "fs",
    not(all(target_arch = "wasm32", target_os = "unknown"))
))]
mod file;
mod log;
mod record;
mod verify;

pub use checkpoint::Checkpoint;
#[cfg(all(
    feature = "fs",
    not(all(target_arch = "wasm32", target_os = "unknown"))
))]
pub use file::{FileLog, FsyncPolicy, TornTail};
pub use log::{
    attest_and_append, export_jsonl, read_jsonl_line, AttestationLog, HeadsLog, LineRead, MemoryLog,
};
pub use record::{evaluations_digest, Attestation, AttestationBody, AttestationDraft, Attestor};
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub use verify::verify_jsonl_parallel;
pub use verify::{verify_jsonl, verify_records, LogReport, LogVerifier};

use crate::error::{Code, Error, Result};
use crate::keys::PublicKey;
use std::collections::HashMap;
use std::fmt;

/// The `format` value of an attestation record. It is signed, so a signature over one kind of
/// modei object (catalog, checkpoint, receipt) can never be read as another.
pub const ATTESTATION_FORMAT: &str = "modei.attestation.v1";
/// The `format` value of a checkpoint.
pub const CHECKPOINT_FORMAT: &str = "modei.checkpoint.v1";
/// The largest record (one JSON line, without its newline) written or read.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;
/// The largest canonical `terms` object in a record.
pub const MAX_TERMS_BYTES: usize = 16 * 1024;
/// The largest identifier (`gate_id`, `key_id`, `passport_id`, `agent_id`, `attestation_id`,
/// `action`, `reason`) in bytes.
pub const MAX_ID_BYTES: usize = 256;
/// The largest `target` in bytes.
pub const MAX_TARGET_BYTES: usize = 2048;
/// The largest sequence number (and catalog version): 2^53 - 1, so that every JSON reader
/// holds it exactly.
pub const MAX_SEQUENCE: u64 = (1 << 53) - 1;

/// A decision as recorded. Only the canonical spellings are ever written; the legacy ones are
/// accepted when reading (see [`Decision::parse_wire`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// All constraints passed.
    Allow,
    /// Held for human approval.
    RequestHold,
    /// A hard constraint was violated.
    Block,
    /// A held action was approved (Supravision outcome).
    Approved,
    /// A held action was denied (Supravision outcome).
    Denied,
}

impl Decision {
    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::RequestHold => "request_hold",
            Decision::Block => "block",
            Decision::Approved => "approved",
            Decision::Denied => "denied",
        }
    }

    /// Reads a recorded decision: the canonical spellings, and the legacy ones Modei's older
    /// generations wrote (`PERMIT` → allow, `SUSPEND` → request_hold, `BLOCK` and `deny` →
    /// block). Returns the decision and the spelling as read (the signature covers that
    /// spelling, so it is kept for the signed bytes). Anything else is `None`.
    pub fn parse_wire(s: &str) -> Option<(Decision, &'static str)> {
        Some(match s {
            "allow" => (Decision::Allow, "allow"),
            "request_hold" => (Decision::RequestHold, "request_hold"),
            "block" => (Decision::Block, "block"),
            "approved" => (Decision::Approved, "approved"),
            "denied" => (Decision::Denied, "denied"),
            "PERMIT" => (Decision::Allow, "PERMIT"),
            "SUSPEND" => (Decision::RequestHold, "SUSPEND"),
            "BLOCK" => (Decision::Block, "BLOCK"),
            "deny" => (Decision::Block, "deny"),
            _ => return None,
        })
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A 32-byte hash: the BLAKE3 link hash of a record, or a chain's genesis value. Written as
/// 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkHash(pub [u8; 32]);

impl LinkHash {
    /// The value the first record of the chain `(gate_id, passport_id)` links to:
    /// `BLAKE3("modei-attestation-genesis:" || RFC8785([gate_id, passport_id]))`.
    /// It differs per chain (so a `prev_hash` identifies its chain even in a mixed log, and a
    /// first record can never pass as the first record of another chain), it is unambiguous
    /// for ids containing `:` (the JSON array is the separator), and any language can
    /// recompute it.
    pub fn genesis(gate_id: &str, passport_id: &str) -> LinkHash {
        let mut buf = Vec::with_capacity(32 + gate_id.len() + passport_id.len());
        buf.extend_from_slice(b"modei-attestation-genesis:[");
        push_json_str(&mut buf, gate_id);
        buf.push(b',');
        push_json_str(&mut buf, passport_id);
        buf.push(b']');
        LinkHash::of(&buf)
    }

    /// BLAKE3 of `bytes`.
    pub fn of(bytes: &[u8]) -> LinkHash {
        LinkHash(*blake3::hash(bytes).as_bytes())
    }

    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        let mut out = [0u8; 64];
        hex_into(&self.0, &mut out);
        // hex_into writes ASCII only.
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Parses exactly 64 lowercase hex digits (the only form modei writes).
    pub fn from_hex(s: &str) -> Option<LinkHash> {
        let b = s.as_bytes();
        if b.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in b.chunks_exact(2).enumerate() {
            let hi = lower_hex_val(pair[0])?;
            let lo = lower_hex_val(pair[1])?;
            out[i] = (hi << 4) | lo;
        }
        Some(LinkHash(out))
    }
}

impl fmt::Debug for LinkHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LinkHash({})", self.to_hex())
    }
}

impl fmt::Display for LinkHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes lowercase hex of `src` into `dst` (which must be twice as long; extra is untouched).
pub(crate) fn hex_into(src: &[u8], dst: &mut [u8]) {
    for (b, pair) in src.iter().zip(dst.chunks_exact_mut(2)) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 0xf)];
    }
}

fn lower_hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Whether `s` is 64 lowercase hex digits (the form of every digest modei writes).
pub(crate) fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|c| lower_hex_val(c).is_some())
}

/// Where a chain stands: the sequence number of its last record and that record's link hash.
/// An empty chain is `sequence 0` with the chain's genesis hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainHead {
    /// The last record's sequence number (0 = no record yet).
    pub sequence: u64,
    /// The last record's link hash (the genesis value when `sequence` is 0).
    pub hash: LinkHash,
}

impl ChainHead {
    /// The head of the empty chain `(gate_id, passport_id)`.
    pub fn genesis(gate_id: &str, passport_id: &str) -> ChainHead {
        ChainHead {
            sequence: 0,
            hash: LinkHash::genesis(gate_id, passport_id),
        }
    }
}

/// Identifies one chain inside a log.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainKey {
    /// The gate that signs the chain.
    pub gate_id: String,
    /// The passport the chain is about.
    pub passport_id: String,
}

impl ChainKey {
    /// Builds a key.
    pub fn new(gate_id: &str, passport_id: &str) -> ChainKey {
        ChainKey {
            gate_id: gate_id.to_owned(),
            passport_id: passport_id.to_owned(),
        }
    }
}

/// The caller's lookup of gate public keys: `(gate_id, key_id)` → key. The core never fetches
/// keys; the caller decides which gate keys it trusts.
pub trait GateKeys {
    /// The public key `key_id` of gate `gate_id`, if trusted.
    fn gate_key(&self, gate_id: &str, key_id: &str) -> Option<PublicKey>;
}

impl<F> GateKeys for F
where
    F: Fn(&str, &str) -> Option<PublicKey>,
{
    fn gate_key(&self, gate_id: &str, key_id: &str) -> Option<PublicKey> {
        self(gate_id, key_id)
    }
}

/// A simple in-memory [`GateKeys`]: a map from `(gate_id, key_id)` to key.
#[derive(Debug, Clone, Default)]
pub struct GateKeySet {
    keys: HashMap<String, HashMap<String, PublicKey>>,
}

impl GateKeySet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts `key` as gate `gate_id`'s key `key_id`.
    pub fn insert(&mut self, gate_id: &str, key_id: &str, key: PublicKey) -> &mut Self {
        self.keys
            .entry(gate_id.to_owned())
            .or_default()
            .insert(key_id.to_owned(), key);
        self
    }
}

impl GateKeys for GateKeySet {
    fn gate_key(&self, gate_id: &str, key_id: &str) -> Option<PublicKey> {
        self.keys.get(gate_id)?.get(key_id).cloned()
    }
}

/// Checks an identifier field: non-empty, at most `max` bytes, no control characters.
pub(crate) fn check_id(code: Code, what: &str, s: &str, max: usize) -> Result<()> {
    if s.is_empty() {
        return Err(Error::new(code, format!("{what} is empty")));
    }
    if s.len() > max {
        return Err(Error::new(
            code,
            format!("{what} is {} bytes; the limit is {max}", s.len()),
        ));
    }
    // Control characters (Unicode Cc): C0, DEL, and C1 (U+0080..=U+009F, UTF-8 C2 80..C2 9F).
    let b = s.as_bytes();
    let control = b.iter().enumerate().any(|(i, &c)| {
        c < 0x20
            || c == 0x7f
            || (c == 0xc2 && b.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)))
    });
    if control {
        return Err(Error::new(
            code,
            format!("{what} contains a control character"),
        ));
    }
    Ok(())
}

/// Appends `s` as an RFC 8785 JSON string (escapes `"`, `\` and C0 controls only).
pub(crate) fn push_json_str(out: &mut Vec<u8>, s: &str) {
    // One JSON string writer for the whole crate: RFC 8785's (the same escapes).
    crate::canonical::canonicalize_str_into(out, s);
}

/// Appends an unsigned integer in decimal.
pub(crate) fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

pub(crate) use crate::time::{push_rfc3339_millis, timestamp_writable};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    #[test]
    fn fast_timestamps_match_the_time_crate() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut samples = vec![
            -62_167_219_200_000,
            253_402_300_799_999,
            0,
            -1,
            951_782_400_000,
            4_107_542_399_999,
        ];
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            samples.push((x % 315_569_520_000_000) as i64 - 62_167_219_200_000);
        }
        for ms in samples {
            let t = Timestamp::from_unix_millis(ms);
            let mut out = Vec::new();
            assert!(push_rfc3339_millis(&mut out, t));
            assert_eq!(
                std::str::from_utf8(&out).unwrap(),
                t.to_rfc3339_millis().unwrap(),
                "{ms}"
            );
        }
        let mut out = Vec::new();
        assert!(!push_rfc3339_millis(
            &mut out,
            Timestamp::from_unix_millis(253_402_300_800_000)
        ));
        assert!(!push_rfc3339_millis(
            &mut out,
            Timestamp::from_unix_millis(-62_167_219_200_001)
        ));
        assert!(out.is_empty());
    }
}
