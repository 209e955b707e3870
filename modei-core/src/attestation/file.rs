//! A durable JSON Lines attestation log on the local file system (feature `fs`).
//!
//! One record per line, `\n`-terminated, each line the record's canonical JSON. A record is
//! written with one `write` call on a file opened for appending, then made durable according
//! to the [`FsyncPolicy`]. A crash mid-write leaves a last line without `\n`: opening the log
//! then fails with `log_torn_tail` (with the byte offset) — the partial line is never dropped
//! or merged silently. [`FileLog::repair_torn_tail`] truncates it explicitly and hands the
//! removed bytes back.

use super::log::{read_jsonl_line, torn, Heads, LineRead};
use super::{verify_jsonl, Attestation, AttestationLog, ChainHead, GateKeys, LinkHash};
use super::{LogReport, LogVerifier, MAX_RECORD_BYTES};
use crate::error::{Code, Error, Result};
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// When appended records are forced to stable storage (`fdatasync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// After every append (the default): an acknowledged decision is never lost.
    #[default]
    EveryAppend,
    /// After every `n` appends, on [`AttestationLog::sync`] and on drop: a crash can lose up
    /// to `n - 1` acknowledged records (they then show up as truncation against the agent's
    /// checkpoints, never as silent corruption).
    Batch(u32),
    /// Never explicitly (the OS decides); for tests and throwaway logs.
    Never,
}

/// The bytes [`FileLog::repair_torn_tail`] removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// Byte offset where the torn line started (the new file length).
    pub offset: u64,
    /// The removed partial line.
    pub bytes: Vec<u8>,
}

/// An append-only JSON Lines log file. One writer per file: the gate process owns it.
#[derive(Debug)]
pub struct FileLog {
    file: File,
    path: PathBuf,
    heads: Heads,
    len: u64,
    last: LinkHash,
    policy: FsyncPolicy,
    unsynced: u32,
    poisoned: bool,
    buf: Vec<u8>,
    /// Holds a segment of shared chains ([`FileLog::open_segment`]).
    segment: bool,
}

fn io(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::new(Code::IoError, format!("{what} {}: {e}", path.display()))
}

impl FileLog {
    /// Opens (creating if missing) the log at `path`, reading every existing line to rebuild
    /// the chain heads (structure and links are checked, signatures are not: use
    /// [`FileLog::verify`]). Failures: `log_torn_tail` (the last line has no `\n`; see
    /// [`FileLog::repair_torn_tail`]), `attestation_malformed` and the chain codes (with the
    /// line index), `io_error`.
    pub fn open(path: impl AsRef<Path>, policy: FsyncPolicy) -> Result<FileLog> {
        Self::open_with(path.as_ref(), policy, false)
    }

    /// Opens a log that holds this replica's segment of shared chains (see
    /// [`AttestationLog::append_shared`]): on reading, a chain's records must only move
    /// forward; gaps are the other replicas' records. Only `append_shared` writes to it.
    pub fn open_segment(path: impl AsRef<Path>, policy: FsyncPolicy) -> Result<FileLog> {
        Self::open_with(path.as_ref(), policy, true)
    }

    fn open_with(path: &Path, policy: FsyncPolicy, segment: bool) -> Result<FileLog> {
        let path = path.to_path_buf();
        let existed = path.exists();
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| io("opening", &path, e))?;
        if !existed && policy != FsyncPolicy::Never {
            // Make the new directory entry durable too.
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                if let Ok(d) = File::open(dir) {
                    let _ = d.sync_all();
                }
            }
        }
        let mut heads = Heads::default();
        let mut len = 0u64;
        let mut last = LinkHash([0; 32]);
        let mut reader = BufReader::with_capacity(
            1 << 16,
            file.try_clone().map_err(|e| io("opening", &path, e))?,
        );
        reader
            .seek(SeekFrom::Start(0))
            .map_err(|e| io("reading", &path, e))?;
        let mut line = Vec::with_capacity(1024);
        let mut offset = 0u64;
        loop {
            let at = format!("{} line {len}", path.display());
            match read_jsonl_line(&mut reader, &mut line, MAX_RECORD_BYTES)
                .map_err(|e| io("reading", &path, e))?
            {
                LineRead::Eof => break,
                LineRead::Torn => return Err(torn(offset, line.len()).at(&at)),
                LineRead::TooLong => {
                    return Err(Error::new(
                        Code::AttestationMalformed,
                        format!("line exceeds {MAX_RECORD_BYTES} bytes"),
                    )
                    .at(&at))
                }
                LineRead::Line => {}
            }
            let rec = Attestation::from_json(&line).map_err(|e| e.at(&at))?;
            if segment {
                heads.check_forward(&rec)
            } else {
                heads.check_next(&rec)
            }
            .map_err(|e| e.at(&at))?;
            let b = rec.body();
            heads.set(&b.gate_id, &b.passport_id, rec.head());
            last = rec.link_hash();
            len += 1;
            offset += line.len() as u64 + 1;
        }
        Ok(FileLog {
            file,
            path,
            heads,
            len,
            last,
            policy,
            unsynced: 0,
            poisoned: false,
            buf: Vec::with_capacity(1024),
            segment,
        })
    }

    /// Cuts a torn last line off the file at `path` and returns it, or `None` if the file
    /// ends with `\n` (or is empty). This is the only way a torn tail goes away: the caller
    /// decides what to do with the bytes (a complete record cut before its `\n` can be
    /// verified and re-appended). Failure: `io_error`.
    pub fn repair_torn_tail(path: impl AsRef<Path>) -> Result<Option<TornTail>> {
        let path = path.as_ref();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| io("opening", path, e))?;
        let size = file
            .seek(SeekFrom::End(0))
            .map_err(|e| io("reading", path, e))?;
        // Scan backwards in bounded chunks for the last '\n'.
        let mut end = size;
        let mut tail: Vec<u8> = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        let cut = loop {
            if end == 0 {
                break 0;
            }
            let n = end.min(chunk.len() as u64);
            let start = end - n;
            let piece = chunk.get_mut(..n as usize).unwrap_or_default();
            file.seek(SeekFrom::Start(start))
                .map_err(|e| io("reading", path, e))?;
            std::io::Read::read_exact(&mut file, piece).map_err(|e| io("reading", path, e))?;
            if let Some(pos) = piece.iter().rposition(|&b| b == b'\n') {
                let mut t = piece.get(pos + 1..).unwrap_or_default().to_vec();
                t.extend_from_slice(&tail);
                tail = t;
                break start + pos as u64 + 1;
            }
            let mut t = piece.to_vec();
            t.extend_from_slice(&tail);
            tail = t;
            end = start;
            if tail.len() > 16 * MAX_RECORD_BYTES {
                return Err(Error::new(
                    Code::LogTornTail,
                    format!(
                        "{}: the unterminated tail exceeds {} bytes; not a log",
                        path.display(),
                        16 * MAX_RECORD_BYTES
                    ),
                ));
            }
        };
        if cut == size {
            return Ok(None);
        }
        file.set_len(cut).map_err(|e| io("truncating", path, e))?;
        file.sync_all().map_err(|e| io("syncing", path, e))?;
        Ok(Some(TornTail {
            offset: cut,
            bytes: tail,
        }))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Verifies the whole file, streaming (see [`verify_jsonl`]). Failure to open: the report's
    /// first error is `io_error` at index 0.
    pub fn verify<K: GateKeys + ?Sized>(&self, verifier: LogVerifier<'_, K>) -> LogReport {
        match File::open(&self.path) {
            Ok(f) => verify_jsonl(&mut BufReader::with_capacity(1 << 16, f), verifier),
            Err(e) => {
                let mut v = verifier;
                v.push_error(io("opening", &self.path, e));
                v.finish()
            }
        }
    }
}

impl AttestationLog for FileLog {
    fn head(&self, gate_id: &str, passport_id: &str) -> ChainHead {
        self.heads.get_or_genesis(gate_id, passport_id)
    }

    fn append(&mut self, record: &Attestation) -> Result<()> {
        if self.segment {
            return Err(Error::new(
                Code::InvalidArgument,
                format!(
                    "{} holds a segment of shared chains: records go through append_shared",
                    self.path.display()
                ),
            ));
        }
        self.write(record, false)
    }

    fn append_shared(&mut self, record: &Attestation) -> Result<()> {
        if !self.segment {
            return Err(Error::new(
                Code::InvalidArgument,
                format!(
                    "{} holds whole chains; open a replica's log with FileLog::open_segment",
                    self.path.display()
                ),
            ));
        }
        self.write(record, true)
    }

    fn len(&self) -> u64 {
        self.len
    }

    fn log_head(&self) -> ChainHead {
        ChainHead {
            sequence: self.len,
            hash: self.last,
        }
    }

    fn sync(&mut self) -> Result<()> {
        if self.unsynced == 0 {
            return Ok(());
        }
        if let Err(e) = self.file.sync_data() {
            self.poisoned = true;
            return Err(io("syncing", &self.path, e));
        }
        self.unsynced = 0;
        Ok(())
    }
}

impl FileLog {
    fn write(&mut self, record: &Attestation, shared: bool) -> Result<()> {
        if self.poisoned {
            return Err(Error::new(
                Code::IoError,
                format!(
                    "{}: an earlier write failed; reopen the log (it checks for a torn tail)",
                    self.path.display()
                ),
            ));
        }
        if shared {
            self.heads.check_forward(record)?;
        } else {
            self.heads.check_next(record)?;
        }
        self.buf.clear();
        record.append_json_line(&mut self.buf);
        if let Err(e) = self.file.write_all(&self.buf) {
            self.poisoned = true;
            return Err(io("appending to", &self.path, e));
        }
        let b = record.body();
        self.heads.set(&b.gate_id, &b.passport_id, record.head());
        self.len += 1;
        self.last = record.link_hash();
        self.unsynced = self.unsynced.saturating_add(1);
        let due = match self.policy {
            FsyncPolicy::EveryAppend => true,
            FsyncPolicy::Batch(n) => self.unsynced >= n.max(1),
            FsyncPolicy::Never => false,
        };
        if due {
            self.sync()?;
        }
        Ok(())
    }
}

impl Drop for FileLog {
    fn drop(&mut self) {
        if self.unsynced > 0 && self.policy != FsyncPolicy::Never {
            let _ = self.file.sync_data();
        }
    }
}
