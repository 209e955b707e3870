//! Streaming verification of attestation logs.

use super::log::{read_jsonl_line, torn, Heads, LineRead};
use super::{Attestation, ChainHead, ChainKey, Checkpoint, GateKeys, LinkHash, MAX_RECORD_BYTES};
use crate::error::{Code, Error, Result};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;

/// The outcome of verifying a log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogReport {
    /// Records read. Verification stops reading at the first definitive failure, so after a
    /// failure this counts the records up to it (a suspected gap reads on to tell a gap from a
    /// reordering).
    pub records: u64,
    /// Distinct chains `(gate_id, passport_id)` seen.
    pub passports: usize,
    /// The first failure: its 0-based record (line) index and the error. Truncation against a
    /// checkpoint is reported at index `records` (where the missing records should be).
    pub first_error: Option<(u64, Error)>,
    /// Every chain's head after its last verified record.
    pub heads: BTreeMap<ChainKey, ChainHead>,
}

impl LogReport {
    /// Whether the log verified with no failure.
    pub fn is_ok(&self) -> bool {
        self.first_error.is_none()
    }

    /// The report as JSON (`heads` omitted: it can be large).
    pub fn to_value(&self) -> Value {
        json!({
            "records": self.records,
            "passports": self.passports,
            "first_error": self.first_error.as_ref().map(|(i, e)| json!({
                "index": i, "code": e.code().as_str(), "detail": e.detail(),
            })),
        })
    }
}

struct Pending {
    index: u64,
    gate_id: String,
    passport_id: String,
    missing: u64,
    found: u64,
}

/// Verifies records one at a time, in bounded memory (one head per chain plus the
/// checkpoints given). Checks, per record in this order: the chain position (`sequence` =
/// head + 1; a higher number is held as a suspected gap and becomes `attestation_reordered` if
/// the missing record turns up later in the log, else `attestation_sequence_gap`; a number
/// already used is `attestation_fork`), the link (`attestation_hash_mismatch`), the
/// signature (`key_unknown`, `attestation_signature_invalid`), and any checkpoint at that
/// position (`attestation_fork` for a per-passport checkpoint, `attestation_hash_mismatch` for a
/// whole-log one). At the end, a checkpoint beyond the log is `attestation_truncated`.
///
/// Signatures are verified one by one with RFC 8032 strict verification; batch verification is
/// deliberately not used (ed25519-dalek's batch equation is not equivalent to
/// `verify_strict`: it accepts some signatures strict verification refuses).
pub struct LogVerifier<'k, K: GateKeys + ?Sized> {
    keys: &'k K,
    heads: Heads,
    index: u64,
    first_error: Option<(u64, Error)>,
    pending: Option<Pending>,
    chain_expect: HashMap<String, HashMap<String, Vec<(u64, LinkHash)>>>,
    log_expect: Vec<(u64, LinkHash)>,
    stopped: bool,
}

impl<'k, K: GateKeys + ?Sized> LogVerifier<'k, K> {
    /// A verifier trusting the gate keys `keys` gives.
    pub fn new(keys: &'k K) -> Self {
        LogVerifier {
            keys,
            heads: Heads::default(),
            index: 0,
            first_error: None,
            pending: None,
            chain_expect: HashMap::new(),
            log_expect: Vec::new(),
            stopped: false,
        }
    }

    /// Adds a signed checkpoint the log must reach. Failures: `key_unknown`,
    /// `checkpoint_invalid` (the checkpoint itself does not verify).
    pub fn checkpoint(&mut self, cp: &Checkpoint) -> Result<()> {
        cp.verify(self.keys)?;
        match &cp.passport_id {
            Some(p) => self.expect_head(&cp.gate_id, p, cp.sequence, cp.head_hash),
            None => self.log_expect.push((cp.sequence, cp.head_hash)),
        }
        Ok(())
    }

    /// Adds an expectation without a checkpoint signature: the chain must reach `sequence` and
    /// the record there must hash to `hash` (e.g. from an attestation the agent received and
    /// verified itself, which is as good as a checkpoint).
    pub fn expect_head(&mut self, gate_id: &str, passport_id: &str, sequence: u64, hash: LinkHash) {
        if sequence == 0 {
            return;
        }
        self.chain_expect
            .entry(gate_id.to_owned())
            .or_default()
            .entry(passport_id.to_owned())
            .or_default()
            .push((sequence, hash));
    }

    /// Starts a chain at a known head instead of genesis (to verify a log segment).
    pub fn start_from(&mut self, gate_id: &str, passport_id: &str, head: ChainHead) {
        self.heads.set(gate_id, passport_id, head);
    }

    /// Whether a definitive failure was found (further records are only counted).
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    fn fail(&mut self, index: u64, e: Error) {
        if self.first_error.is_none() {
            self.first_error = Some((index, e));
        }
        self.stopped = true;
    }

    /// Records an error at the current position (a malformed or torn line) and counts it.
    pub fn push_error(&mut self, e: Error) {
        let idx = self.index;
        self.index += 1;
        if self.pending.is_none() && !self.stopped {
            self.fail(idx, e);
        }
    }

    /// Parses one line and pushes it.
    pub fn push_line(&mut self, line: &[u8]) {
        if self.stopped {
            self.index += 1;
            return;
        }
        match Attestation::from_json(line) {
            Ok(r) => self.push(&r),
            Err(e) => self.push_error(e),
        }
    }

    /// Verifies the next record of the log.
    pub fn push(&mut self, rec: &Attestation) {
        self.push_inner(rec, true);
    }

    /// Chain checks now, signature later (see [`verify_jsonl_parallel`]): returns whether the
    /// record was accepted and still needs its signature checked.
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    fn push_deferred(&mut self, rec: &Attestation) -> bool {
        self.push_inner(rec, false)
    }

    /// A deferred signature check failed at `index`: it wins if it comes first in the log (ties
    /// with a checkpoint mismatch at the same record go to the signature, as in [`Self::push`]).
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    fn signature_failure(&mut self, index: u64, e: Error) {
        let first = match (&self.first_error, &self.pending) {
            (Some((j, _)), _) => index <= *j,
            (None, Some(p)) => index < p.index,
            (None, None) => true,
        };
        if first {
            self.first_error = Some((index, e));
            self.pending = None;
            self.stopped = true;
        }
    }

    fn push_inner(&mut self, rec: &Attestation, check_signature: bool) -> bool {
        let idx = self.index;
        self.index += 1;
        let b = rec.body();
        if let Some(p) = &self.pending {
            if b.sequence == p.missing && b.gate_id == p.gate_id && b.passport_id == p.passport_id {
                let e = Error::new(
                    Code::AttestationReordered,
                    format!(
                        "passport {:?}: sequence {} appears before sequence {} (found later at index {idx})",
                        p.passport_id, p.found, p.missing
                    ),
                );
                let at = p.index;
                self.pending = None;
                self.fail(at, e);
            }
            return false;
        }
        if self.stopped {
            return false;
        }
        let head = self.heads.get_or_genesis(&b.gate_id, &b.passport_id);
        let expected = head.sequence + 1;
        if b.sequence > expected {
            self.pending = Some(Pending {
                index: idx,
                gate_id: b.gate_id.clone(),
                passport_id: b.passport_id.clone(),
                missing: expected,
                found: b.sequence,
            });
            return false;
        }
        if let Err(e) = self.heads.check_next(rec) {
            let e = if e.code() == Code::AttestationFork
                && b.sequence == head.sequence
                && rec.link_hash() == head.hash
            {
                Error::new(
                    Code::AttestationFork,
                    format!(
                        "passport {:?}: sequence {} appears twice (an exact duplicate)",
                        b.passport_id, b.sequence
                    ),
                )
            } else {
                e
            };
            self.fail(idx, e);
            return false;
        }
        if check_signature {
            if let Err(e) = rec.verify(self.keys) {
                self.fail(idx, e);
                return false;
            }
        }
        self.heads.set(&b.gate_id, &b.passport_id, rec.head());
        let mut err = None;
        if let Some(list) = self
            .chain_expect
            .get(&b.gate_id)
            .and_then(|m| m.get(&b.passport_id))
        {
            if let Some((_, h)) = list
                .iter()
                .find(|(s, h)| *s == b.sequence && *h != rec.link_hash())
            {
                err = Some(Error::new(
                    Code::AttestationFork,
                    format!(
                        "passport {:?}: the record at sequence {} hashes to {} but the gate's checkpoint says {}",
                        b.passport_id,
                        b.sequence,
                        rec.link_hash(),
                        h
                    ),
                ));
            }
        }
        if err.is_none() {
            if let Some((_, h)) = self
                .log_expect
                .iter()
                .find(|(n, h)| *n == idx + 1 && *h != rec.link_hash())
            {
                err = Some(Error::new(
                    Code::AttestationHashMismatch,
                    format!(
                        "record {} of the log hashes to {} but the gate's log checkpoint says {}",
                        idx + 1,
                        rec.link_hash(),
                        h
                    ),
                ));
            }
        }
        if let Some(e) = err {
            self.fail(idx, e);
        }
        !check_signature
    }

    /// Ends verification and reports.
    pub fn finish(mut self) -> LogReport {
        if let Some(p) = self.pending.take() {
            let e = Error::new(
                Code::AttestationSequenceGap,
                format!(
                    "passport {:?}: sequence {} follows {} (sequence {} is missing)",
                    p.passport_id,
                    p.found,
                    p.missing - 1,
                    p.missing
                ),
            );
            self.fail(p.index, e);
        }
        if self.first_error.is_none() {
            let mut missing: Vec<(String, String, u64, u64)> = Vec::new();
            for (g, m) in &self.chain_expect {
                for (p, list) in m {
                    let have = self.heads.get(g, p).map_or(0, |h| h.sequence);
                    if let Some(want) = list.iter().map(|(s, _)| *s).max() {
                        if want > have {
                            missing.push((g.clone(), p.clone(), want, have));
                        }
                    }
                }
            }
            missing.sort();
            if let Some((g, p, want, have)) = missing.into_iter().next() {
                let e = Error::new(
                    Code::AttestationTruncated,
                    format!(
                        "chain ({g:?}, {p:?}) ends at sequence {have} but the gate checkpointed sequence {want}"
                    ),
                );
                self.fail(self.index, e);
            } else if let Some(want) = self.log_expect.iter().map(|(n, _)| *n).max() {
                if want > self.index {
                    let e = Error::new(
                        Code::AttestationTruncated,
                        format!(
                            "the log holds {} records but the gate checkpointed {want}",
                            self.index
                        ),
                    );
                    self.fail(self.index, e);
                }
            }
        }
        let heads = self
            .heads
            .iter()
            .map(|(g, p, h)| (ChainKey::new(g, p), *h))
            .collect();
        LogReport {
            records: self.index,
            passports: self.heads.chains(),
            first_error: self.first_error,
            heads,
        }
    }
}

/// Verifies a JSON Lines log from any reader, streaming: memory holds one line (at most
/// [`MAX_RECORD_BYTES`]) and the per-chain heads. A last line without `\n` is
/// `log_torn_tail` (with its byte offset); an over-long line is `attestation_malformed`; a
/// read failure is `io_error`.
pub fn verify_jsonl<K: GateKeys + ?Sized>(
    input: &mut impl BufRead,
    mut verifier: LogVerifier<'_, K>,
) -> LogReport {
    let mut buf = Vec::with_capacity(1024);
    let mut offset = 0u64;
    loop {
        if verifier.is_stopped() {
            break;
        }
        match read_jsonl_line(input, &mut buf, MAX_RECORD_BYTES) {
            Ok(LineRead::Eof) => break,
            Ok(LineRead::Line) => {
                verifier.push_line(&buf);
                offset += buf.len() as u64 + 1;
            }
            Ok(LineRead::Torn) => {
                verifier.push_error(torn(offset, buf.len()));
                break;
            }
            Ok(LineRead::TooLong) => {
                verifier.push_error(Error::new(
                    Code::AttestationMalformed,
                    format!("line at byte offset {offset} exceeds {MAX_RECORD_BYTES} bytes"),
                ));
                break;
            }
            Err(e) => {
                verifier.push_error(Error::new(Code::IoError, format!("reading the log: {e}")));
                break;
            }
        }
    }
    verifier.finish()
}

/// Verifies records already in memory.
pub fn verify_records<'a, K: GateKeys + ?Sized>(
    records: impl IntoIterator<Item = &'a Attestation>,
    mut verifier: LogVerifier<'_, K>,
) -> LogReport {
    for r in records {
        if verifier.is_stopped() {
            break;
        }
        verifier.push(r);
    }
    verifier.finish()
}

/// [`verify_jsonl`] with signatures checked on `threads` threads (0 = the machine's parallelism).
/// Lines are read, parsed and chain-checked in order on the calling thread in batches of `batch`
/// records (0 = 1024); each batch's signatures are then verified in parallel. The first failure (index and code) is
/// the same as [`verify_jsonl`]'s; after a failure, `records` and `heads` may include records read
/// past it in the same batch. Memory: one batch of parsed records (≈ 2–3 KB each) plus the heads.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub fn verify_jsonl_parallel<K: GateKeys + Sync + ?Sized>(
    input: &mut impl BufRead,
    mut verifier: LogVerifier<'_, K>,
    threads: usize,
    batch: usize,
) -> LogReport {
    let batch_size = if batch == 0 { 1024 } else { batch };
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    };
    let keys = verifier.keys;
    let mut buf = Vec::with_capacity(1024);
    let mut offset = 0u64;
    let mut batch: Vec<(u64, Attestation)> = Vec::with_capacity(batch_size);
    let mut done = false;
    while !done {
        batch.clear();
        while batch.len() < batch_size {
            if verifier.is_stopped() {
                done = true;
                break;
            }
            match read_jsonl_line(input, &mut buf, MAX_RECORD_BYTES) {
                Ok(LineRead::Eof) => {
                    done = true;
                    break;
                }
                Ok(LineRead::Line) => {
                    offset += buf.len() as u64 + 1;
                    let idx = verifier.index;
                    match Attestation::from_json(&buf) {
                        Ok(r) => {
                            if verifier.push_deferred(&r) {
                                batch.push((idx, r));
                            }
                        }
                        Err(e) => verifier.push_error(e),
                    }
                }
                Ok(LineRead::Torn) => {
                    verifier.push_error(torn(offset, buf.len()));
                    done = true;
                    break;
                }
                Ok(LineRead::TooLong) => {
                    verifier.push_error(Error::new(
                        Code::AttestationMalformed,
                        format!("line at byte offset {offset} exceeds {MAX_RECORD_BYTES} bytes"),
                    ));
                    done = true;
                    break;
                }
                Err(e) => {
                    verifier.push_error(Error::new(Code::IoError, format!("reading the log: {e}")));
                    done = true;
                    break;
                }
            }
        }
        if let Some((i, e)) = verify_batch(&batch, keys, threads) {
            verifier.signature_failure(i, e);
        }
    }
    verifier.finish()
}

/// The first (lowest-index) signature failure in `batch`.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn verify_batch<K: GateKeys + Sync + ?Sized>(
    batch: &[(u64, Attestation)],
    keys: &K,
    threads: usize,
) -> Option<(u64, Error)> {
    let first = |chunk: &[(u64, Attestation)]| {
        chunk
            .iter()
            .find_map(|(i, r)| r.verify(keys).err().map(|e| (*i, e)))
    };
    if threads <= 1 || batch.len() < 2 {
        return first(batch);
    }
    let size = batch.len().div_ceil(threads);
    std::thread::scope(|s| {
        let mut chunks = batch.chunks(size);
        let mine = chunks.next();
        let handles: Vec<_> = chunks
            .map(|c| (c.first().map_or(0, |(i, _)| *i), s.spawn(move || first(c))))
            .collect();
        let mut found = mine.and_then(first);
        for (start, h) in handles {
            // Verification returns errors and does not panic; if a worker died anyway, fail
            // closed at the first record of its chunk rather than accept unverified records.
            let f = h.join().unwrap_or_else(|_| {
                Some((
                    start,
                    Error::new(
                        Code::AttestationSignatureInvalid,
                        "a verification thread failed; signatures from here are unverified",
                    ),
                ))
            });
            if let Some(f) = f {
                if found.as_ref().is_none_or(|(i, _)| f.0 < *i) {
                    found = Some(f);
                }
            }
        }
        found
    })
}
