//! Attestation JSON Lines logs: streaming verification (sequential and parallel must agree on
//! the verdict), plus single-record parsing of every line.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modei_core::attestation::{verify_jsonl, verify_jsonl_parallel, LogVerifier};
use modei_core::attestation::{Attestation, GateKeySet};
use modei_core::keys::PublicKey;
use std::sync::OnceLock;

fn keys() -> &'static GateKeySet {
    static K: OnceLock<GateKeySet> = OnceLock::new();
    K.get_or_init(|| {
        let mut k = GateKeySet::new();
        k.insert(
            "gate:flights-prod",
            "vaJPtef-vPnGAIWE19qlMPDYWGaER3zeeJM_3r1WO7E",
            PublicKey::from_base64url("0EqyMnQrtKs6E2i9RhXk5tAiSrcaAWuvhSCjMsl3hzc").unwrap(),
        );
        k
    })
}

fuzz_target!(|data: &[u8]| {
    let a = verify_jsonl(&mut &data[..], LogVerifier::new(keys()));
    let b = verify_jsonl_parallel(&mut &data[..], LogVerifier::new(keys()), 1, 4);
    assert_eq!(a.is_ok(), b.is_ok(), "sequential and parallel verdicts differ");
    for line in data.split(|b| *b == b'\n').take(8) {
        if let Ok(rec) = Attestation::from_json(line) {
            let _ = rec.verify(keys());
            let _ = rec.to_json_line();
        }
    }
});
