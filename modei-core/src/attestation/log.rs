//! Append-only attestation logs (in memory, and as JSON Lines), and the bounded line reader.

use super::{Attestation, AttestationDraft, Attestor, ChainHead, LinkHash, MAX_RECORD_BYTES};
use crate::error::{Code, Error, Result};
use std::collections::HashMap;
use std::io::{BufRead, Write};

/// An append-only log of attestation records, possibly interleaving many chains. Every
/// implementation refuses a record that does not extend its chain's head (so the log itself
/// can never hold a gap or a fork); signatures are the verifier's business.
pub trait AttestationLog {
    /// The head of the chain `(gate_id, passport_id)` (its genesis head if it has no record).
    fn head(&self, gate_id: &str, passport_id: &str) -> ChainHead;

    /// Appends `record`, which must extend its chain: `sequence` = head + 1 and `prev_hash` =
    /// the head's hash. Failures: `attestation_sequence_gap`, `attestation_fork`,
    /// `attestation_hash_mismatch`; `io_error` for storage.
    fn append(&mut self, record: &Attestation) -> Result<()>;

    /// Appends a record of a chain that other writers extend too: gate replicas that take
    /// chain heads from a shared state store (`GateConfig::shared_chains`). Each replica's log
    /// then holds its own records of the chain (a *segment*): `sequence` must be above this
    /// log's head for that chain, but need not follow it directly, and `prev_hash` links to
    /// a record that may be in another replica's log. The segments merged by sequence form
    /// the whole chain, which [`super::verify_jsonl`] checks as usual.
    ///
    /// The default refuses (`invalid_argument`): a log must opt in, since a segment does not
    /// verify on its own.
    fn append_shared(&mut self, record: &Attestation) -> Result<()> {
        let _ = record;
        Err(Error::new(
            Code::InvalidArgument,
            "this attestation log cannot hold segments of shared chains (use MemoryLog or FileLog::open_segment)",
        ))
    }

    /// The number of records.
    fn len(&self) -> u64;

    /// Whether the log has no record.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole-log head for checkpoints: record count and last link hash (zeros if empty).
    fn log_head(&self) -> ChainHead;

    /// Makes every appended record durable (no-op in memory).
    fn sync(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Signs the next record for `draft.passport_id` from `log`'s head and appends it: the simple
/// path for a gate whose log is its state store. (A gate with a separate state store calls
/// [`Attestor::attest`] with the head it holds, then appends and advances the head in one
/// transaction; see `docs/attestations.md`.)
pub fn attest_and_append(
    log: &mut (impl AttestationLog + ?Sized),
    attestor: &Attestor,
    draft: &AttestationDraft<'_>,
) -> Result<Attestation> {
    let head = log.head(attestor.gate_id(), draft.passport_id);
    let (record, _) = attestor.attest(&head, draft)?;
    log.append(&record)?;
    Ok(record)
}

/// Per-chain heads without allocating on lookup.
#[derive(Debug, Clone, Default)]
pub(crate) struct Heads {
    map: HashMap<String, HashMap<String, ChainHead>>,
    chains: usize,
}

impl Heads {
    pub(crate) fn get(&self, gate_id: &str, passport_id: &str) -> Option<ChainHead> {
        self.map.get(gate_id)?.get(passport_id).copied()
    }

    pub(crate) fn get_or_genesis(&self, gate_id: &str, passport_id: &str) -> ChainHead {
        self.get(gate_id, passport_id)
            .unwrap_or_else(|| ChainHead::genesis(gate_id, passport_id))
    }

    pub(crate) fn set(&mut self, gate_id: &str, passport_id: &str, head: ChainHead) {
        let inner = match self.map.get_mut(gate_id) {
            Some(m) => m,
            None => self.map.entry(gate_id.to_owned()).or_default(),
        };
        match inner.get_mut(passport_id) {
            Some(h) => *h = head,
            None => {
                inner.insert(passport_id.to_owned(), head);
                self.chains += 1;
            }
        }
    }

    pub(crate) fn chains(&self) -> usize {
        self.chains
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str, &ChainHead)> {
        self.map
            .iter()
            .flat_map(|(g, m)| m.iter().map(move |(p, h)| (g.as_str(), p.as_str(), h)))
    }

    /// Checks that `record` moves its chain forward (a segment of a shared chain).
    pub(crate) fn check_forward(&self, record: &Attestation) -> Result<()> {
        let b = record.body();
        let head = self.get_or_genesis(&b.gate_id, &b.passport_id);
        if b.sequence > head.sequence {
            Ok(())
        } else {
            Err(Error::new(
                Code::AttestationFork,
                format!(
                    "passport {:?}: sequence {} is not after this log's head {}",
                    b.passport_id, b.sequence, head.sequence
                ),
            ))
        }
    }

    /// Checks that `record` extends its chain.
    pub(crate) fn check_next(&self, record: &Attestation) -> Result<()> {
        let b = record.body();
        let head = self.get_or_genesis(&b.gate_id, &b.passport_id);
        let expected = head.sequence + 1;
        if b.sequence == expected {
            if b.prev_hash != head.hash {
                return Err(Error::new(
                    Code::AttestationHashMismatch,
                    format!(
                        "sequence {}: prev_hash {} is not the hash {} of the record before it",
                        b.sequence, b.prev_hash, head.hash
                    ),
                ));
            }
            Ok(())
        } else if b.sequence > expected {
            Err(Error::new(
                Code::AttestationSequenceGap,
                format!(
                    "passport {:?}: sequence {} follows {}",
                    b.passport_id, b.sequence, head.sequence
                ),
            ))
        } else {
            Err(Error::new(
                Code::AttestationFork,
                format!(
                    "passport {:?}: sequence {} is already taken (head is {})",
                    b.passport_id, b.sequence, head.sequence
                ),
            ))
        }
    }
}

/// An in-memory log.
#[derive(Debug, Clone, Default)]
pub struct MemoryLog {
    records: Vec<Attestation>,
    heads: Heads,
}

impl MemoryLog {
    /// An empty log.
    pub fn new() -> MemoryLog {
        MemoryLog::default()
    }

    /// The records, in append order.
    pub fn records(&self) -> &[Attestation] {
        &self.records
    }

    /// Writes the log as JSON Lines (one canonical record per line, `\n` after each).
    pub fn export_jsonl(&self, out: &mut impl Write) -> Result<()> {
        export_jsonl(self.records.iter(), out)
    }

    /// Reads a JSON Lines log: every line a record (strict reader), every record extending its
    /// chain, at most `max_records` records. Signatures are not checked (use
    /// [`super::verify_jsonl`] for that). Failures carry the line index: `attestation_malformed`,
    /// the chain codes of [`AttestationLog::append`], `log_torn_tail` (last line without
    /// newline, never dropped silently), `limit_exceeded`, `io_error`.
    pub fn import_jsonl(input: &mut impl BufRead, max_records: u64) -> Result<MemoryLog> {
        let mut log = MemoryLog::new();
        let mut buf = Vec::new();
        let mut offset = 0u64;
        loop {
            let at = format!("line {}", log.len());
            match read_jsonl_line(input, &mut buf, MAX_RECORD_BYTES)
                .map_err(|e| Error::new(Code::IoError, format!("reading the log: {e}")).at(&at))?
            {
                LineRead::Eof => return Ok(log),
                LineRead::TooLong => {
                    return Err(Error::new(
                        Code::AttestationMalformed,
                        format!("line exceeds {MAX_RECORD_BYTES} bytes"),
                    )
                    .at(&at))
                }
                LineRead::Torn => return Err(torn(offset, buf.len()).at(&at)),
                LineRead::Line => {}
            }
            if log.len() >= max_records {
                return Err(Error::new(
                    Code::LimitExceeded,
                    format!("the log holds more than {max_records} records"),
                ));
            }
            let rec = Attestation::from_json(&buf).map_err(|e| e.at(&at))?;
            log.append(&rec).map_err(|e| e.at(&at))?;
            offset += buf.len() as u64 + 1;
        }
    }
}

pub(crate) fn torn(offset: u64, len: usize) -> Error {
    Error::new(
        Code::LogTornTail,
        format!(
            "the last line (byte offset {offset}, {len} bytes) has no final newline: a write was cut short"
        ),
    )
}

impl AttestationLog for MemoryLog {
    fn head(&self, gate_id: &str, passport_id: &str) -> ChainHead {
        self.heads.get_or_genesis(gate_id, passport_id)
    }

    fn append(&mut self, record: &Attestation) -> Result<()> {
        self.heads.check_next(record)?;
        let b = record.body();
        self.heads.set(&b.gate_id, &b.passport_id, record.head());
        self.records.push(record.clone());
        Ok(())
    }

    fn append_shared(&mut self, record: &Attestation) -> Result<()> {
        self.heads.check_forward(record)?;
        let b = record.body();
        self.heads.set(&b.gate_id, &b.passport_id, record.head());
        self.records.push(record.clone());
        Ok(())
    }

    fn len(&self) -> u64 {
        self.records.len() as u64
    }

    fn log_head(&self) -> ChainHead {
        ChainHead {
            sequence: self.len(),
            hash: self
                .records
                .last()
                .map_or(LinkHash([0; 32]), Attestation::link_hash),
        }
    }
}

/// A log that keeps only each chain's head (and the whole log's), not the records: for a
/// host that ships every record elsewhere itself (each gate decision carries its attestation)
/// and wants the gate's memory to stay flat however many decisions it makes. Appends are
/// checked exactly as in [`MemoryLog`].
#[derive(Debug, Clone, Default)]
pub struct HeadsLog {
    heads: Heads,
    n: u64,
    last: Option<LinkHash>,
}

impl HeadsLog {
    /// An empty log.
    pub fn new() -> HeadsLog {
        HeadsLog::default()
    }
}

impl AttestationLog for HeadsLog {
    fn head(&self, gate_id: &str, passport_id: &str) -> ChainHead {
        self.heads.get_or_genesis(gate_id, passport_id)
    }

    fn append(&mut self, record: &Attestation) -> Result<()> {
        self.heads.check_next(record)?;
        self.keep(record);
        Ok(())
    }

    fn append_shared(&mut self, record: &Attestation) -> Result<()> {
        self.heads.check_forward(record)?;
        self.keep(record);
        Ok(())
    }

    fn len(&self) -> u64 {
        self.n
    }

    fn log_head(&self) -> ChainHead {
        ChainHead {
            sequence: self.n,
            hash: self.last.unwrap_or(LinkHash([0; 32])),
        }
    }
}

impl HeadsLog {
    fn keep(&mut self, record: &Attestation) {
        let b = record.body();
        self.heads.set(&b.gate_id, &b.passport_id, record.head());
        self.n += 1;
        self.last = Some(record.link_hash());
    }
}

/// Writes records as JSON Lines. Failure: `io_error`.
pub fn export_jsonl<'a>(
    records: impl IntoIterator<Item = &'a Attestation>,
    out: &mut impl Write,
) -> Result<()> {
    let mut buf = Vec::with_capacity(1024);
    for r in records {
        buf.clear();
        r.append_json_line(&mut buf);
        out.write_all(&buf)
            .map_err(|e| Error::new(Code::IoError, format!("writing the log: {e}")))?;
    }
    out.flush()
        .map_err(|e| Error::new(Code::IoError, format!("writing the log: {e}")))
}

/// What [`read_jsonl_line`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineRead {
    /// A complete line is in the buffer (without its `\n`).
    Line,
    /// End of input, nothing pending.
    Eof,
    /// The input ended inside a line (the partial bytes are in the buffer): a torn tail.
    Torn,
    /// The line is longer than the limit (reading stops; the buffer holds a prefix).
    TooLong,
}

/// Reads one `\n`-terminated line into `buf` (cleared first), holding at most `max` bytes:
/// memory stays bounded whatever the input.
pub fn read_jsonl_line(
    input: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<LineRead> {
    buf.clear();
    loop {
        let avail = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            return Ok(if buf.is_empty() {
                LineRead::Eof
            } else {
                LineRead::Torn
            });
        }
        if let Some(pos) = avail.iter().position(|&b| b == b'\n') {
            if buf.len() + pos > max {
                input.consume(pos + 1);
                return Ok(LineRead::TooLong);
            }
            buf.extend_from_slice(&avail[..pos]);
            input.consume(pos + 1);
            return Ok(LineRead::Line);
        }
        let n = avail.len();
        if buf.len() + n > max {
            input.consume(n);
            return Ok(LineRead::TooLong);
        }
        buf.extend_from_slice(avail);
        input.consume(n);
    }
}
