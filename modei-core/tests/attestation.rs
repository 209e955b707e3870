//! Attestations: records, chains, checkpoints, logs.
//!
//! The vectors in `testvectors/attestation/` are produced by [`generate`] from fixed seeds and
//! a fixed clock. `vectors_match_files` verifies every file as read from disk against the
//! expectations recorded in `expected.json`, and regenerates all files in memory and asserts
//! they are byte-identical to the ones on disk, so code and vectors cannot drift.
//! Rewrite them with `MODEI_REGENERATE=1 cargo test -p modei-core --test attestation`.

mod common;

use modei_core::attestation::*;
use modei_core::canonical;
use modei_core::catalog::CatalogPin;
use modei_core::keys::SigningKey;
use modei_core::time::Timestamp;
use modei_core::Code;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::BufReader;

const GATE: &str = "gate:flights-prod";
const T0: i64 = 1_780_272_000_000; // 2026-06-01T00:00:00.000Z

fn gate_key() -> SigningKey {
    SigningKey::from_seed(&[0x11; 32])
}
fn rogue_key() -> SigningKey {
    SigningKey::from_seed(&[0x22; 32])
}
fn attestor() -> Attestor {
    Attestor::with_thumbprint_key_id(GATE, gate_key()).unwrap()
}
fn keys() -> GateKeySet {
    let a = attestor();
    let mut k = GateKeySet::new();
    k.insert(GATE, a.key_id(), a.public_key());
    k
}
fn ts(i: i64) -> Timestamp {
    Timestamp::from_unix_millis(T0 + i * 1000)
}
fn lines(records: &[Attestation]) -> Vec<Vec<u8>> {
    records.iter().map(Attestation::to_json_line).collect()
}
fn join(lines: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l);
        out.push(b'\n');
    }
    out
}

fn pin() -> CatalogPin {
    CatalogPin {
        gate_id: GATE.into(),
        version: 3,
        content_hash: Some(canonical::content_hash(&json!({"stand-in": "catalog"}))),
    }
}

/// Ten records: passports A and B interleaved, five each, varied fields.
fn base_records(a: &Attestor) -> Vec<Attestation> {
    let terms = json!({"core:pricing:per_call_cents": 2, "core:pricing:model": "per_call",
                       "core:platform_fee:basis_points": 200, "note": "caf\u{e9} \u{1F600} \"q\" \n"});
    let evals = evaluations_digest(&json!([{"key": "core:rate:max_per_minute", "result": "pass"}]));
    let req = canonical::content_hash(&json!({"q": "LHR-JFK"}));
    let pin = pin();
    let mut log = MemoryLog::new();
    let decisions = [
        Decision::Allow,
        Decision::RequestHold,
        Decision::Approved,
        Decision::Block,
        Decision::Denied,
    ];
    for i in 0..10usize {
        let passport = if i % 2 == 0 { "pp_alpha" } else { "pp_beta" };
        let agent = if i % 2 == 0 { "agent_a" } else { "agent_b" };
        let mut d = AttestationDraft::new(
            passport,
            agent,
            "flights:search",
            decisions[i / 2],
            ts(i as i64),
        )
        .target("https://api.flights.example/v1/search")
        .evaluations_digest(&evals)
        .request_digest(&req);
        if i % 3 == 0 {
            d = d.catalog(&pin).terms(&terms);
        }
        if decisions[i / 2] == Decision::Block {
            d = d.reason("rate_limit_exceeded");
        }
        attest_and_append(&mut log, a, &d).unwrap();
    }
    log.records().to_vec()
}

/// Re-signs `line` after an edit, as a gate holding the key could.
fn resign(line: &[u8], key: &SigningKey) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(line).unwrap();
    v.as_object_mut().unwrap().remove("signature");
    let bytes = canonical::canonicalize(&v);
    let sig = key.sign(&bytes).to_base64url();
    v.as_object_mut()
        .unwrap()
        .insert("signature".into(), json!(sig));
    canonical::canonicalize(&v)
}

struct Case {
    file: &'static str,
    proves: &'static str,
    checkpoints: Vec<String>,
    expect: Option<(u64, Code)>,
}

/// Every vector file, and the expectations.
fn generate() -> BTreeMap<String, Vec<u8>> {
    let a = attestor();
    let recs = base_records(&a);
    let base = lines(&recs);
    let mut files = BTreeMap::new();
    let mut cases: Vec<Case> = Vec::new();

    files.insert("chain_valid.jsonl".to_owned(), join(&base));
    cases.push(Case {
        file: "chain_valid.jsonl",
        proves: "two interleaved chains of five verify; heads are reported",
        checkpoints: vec![],
        expect: None,
    });

    // A flipped byte inside a signed field (not the link): the signature fails at that record.
    let mut t = base.clone();
    let pos = t[4].windows(6).position(|w| w == b"search").unwrap();
    t[4][pos] = b'S';
    files.insert("tampered_byte.jsonl".into(), join(&t));
    cases.push(Case {
        file: "tampered_byte.jsonl",
        proves: "one byte of record 4 changed: attestation_signature_invalid at 4",
        checkpoints: vec![],
        expect: Some((4, Code::AttestationSignatureInvalid)),
    });

    // The prev_hash of record 6 edited: the link check fails before the signature.
    let mut t = base.clone();
    let s = String::from_utf8(t[6].clone()).unwrap();
    let prev = recs[6].body().prev_hash.to_hex();
    let mut other = prev.clone().into_bytes();
    other[0] = if other[0] == b'0' { b'1' } else { b'0' };
    t[6] = s
        .replace(&prev, std::str::from_utf8(&other).unwrap())
        .into_bytes();
    files.insert("tampered_link.jsonl".into(), join(&t));
    cases.push(Case {
        file: "tampered_link.jsonl",
        proves: "prev_hash of record 6 edited: attestation_hash_mismatch at 6",
        checkpoints: vec![],
        expect: Some((6, Code::AttestationHashMismatch)),
    });

    // Record 4 (pp_alpha seq 3) replaced by another validly signed record: the next record of
    // that chain (index 6) no longer links.
    let mut t = base.clone();
    let s = String::from_utf8(t[4].clone())
        .unwrap()
        .replace("\"decision\":\"approved\"", "\"decision\":\"allow\"");
    t[4] = resign(s.as_bytes(), &gate_key());
    files.insert("substituted_record.jsonl".into(), join(&t));
    cases.push(Case { file: "substituted_record.jsonl", proves: "record 4 rewritten and re-signed by the gate: attestation_hash_mismatch at 6 (its successor)", checkpoints: vec![], expect: Some((6, Code::AttestationHashMismatch)) });

    let mut t = base.clone();
    t.remove(4);
    files.insert("dropped_record.jsonl".into(), join(&t));
    cases.push(Case { file: "dropped_record.jsonl", proves: "record 4 (pp_alpha seq 3) removed: attestation_sequence_gap at 5, where pp_alpha seq 4 now sits", checkpoints: vec![], expect: Some((5, Code::AttestationSequenceGap)) });

    let mut t = base.clone();
    t.swap(4, 6);
    files.insert("swapped_records.jsonl".into(), join(&t));
    cases.push(Case {
        file: "swapped_records.jsonl",
        proves: "records 4 and 6 (pp_alpha seq 3 and 4) swapped: attestation_reordered at 4",
        checkpoints: vec![],
        expect: Some((4, Code::AttestationReordered)),
    });

    let mut t = base.clone();
    let s = String::from_utf8(base[4].clone())
        .unwrap()
        .replace("\"decision\":\"approved\"", "\"decision\":\"denied\"");
    t.insert(5, resign(s.as_bytes(), &gate_key()));
    files.insert("forked_sequence.jsonl".into(), join(&t));
    cases.push(Case {
        file: "forked_sequence.jsonl",
        proves: "a second signed pp_alpha seq 3 follows the first: attestation_fork at 5",
        checkpoints: vec![],
        expect: Some((5, Code::AttestationFork)),
    });

    let mut t = base.clone();
    t.insert(5, base[4].clone());
    files.insert("duplicated_record.jsonl".into(), join(&t));
    cases.push(Case {
        file: "duplicated_record.jsonl",
        proves: "an exact duplicate line: attestation_fork at 5",
        checkpoints: vec![],
        expect: Some((5, Code::AttestationFork)),
    });

    // Checkpoints handed to the agent with the last decision, and a whole-log checkpoint.
    let cp_alpha = a
        .checkpoint(Some("pp_alpha"), &recs[8].head(), ts(20))
        .unwrap();
    let log_head = ChainHead {
        sequence: 10,
        hash: recs[9].link_hash(),
    };
    let cp_log = a.checkpoint(None, &log_head, ts(20)).unwrap();
    files.insert("checkpoint_pp_alpha.json".into(), cp_alpha.to_json());
    files.insert("checkpoint_log.json".into(), cp_log.to_json());
    cases.push(Case {
        file: "chain_valid.jsonl",
        proves: "the full log satisfies both checkpoints",
        checkpoints: vec![
            "checkpoint_pp_alpha.json".into(),
            "checkpoint_log.json".into(),
        ],
        expect: None,
    });
    let t = base[..8].to_vec();
    files.insert("truncated_tail.jsonl".into(), join(&t));
    cases.push(Case { file: "truncated_tail.jsonl", proves: "the last two records cut: attestation_truncated at 8 against pp_alpha's checkpoint (seq 5)", checkpoints: vec!["checkpoint_pp_alpha.json".into()], expect: Some((8, Code::AttestationTruncated)) });
    cases.push(Case { file: "truncated_tail.jsonl", proves: "the same log against the whole-log checkpoint (10 records): attestation_truncated at 8", checkpoints: vec!["checkpoint_log.json".into()], expect: Some((8, Code::AttestationTruncated)) });
    cases.push(Case { file: "truncated_tail.jsonl", proves: "without a checkpoint, truncation at a record boundary is undetectable: the log verifies", checkpoints: vec![], expect: None });
    // A rewritten last record (a different history than the one checkpointed).
    let mut t = base.clone();
    let s = String::from_utf8(base[8].clone())
        .unwrap()
        .replace("\"decision\":\"denied\"", "\"decision\":\"allow\"");
    t[8] = resign(s.as_bytes(), &gate_key());
    files.insert("rewritten_head.jsonl".into(), join(&t));
    cases.push(Case { file: "rewritten_head.jsonl", proves: "pp_alpha seq 5 re-signed with another decision after the checkpoint: attestation_fork at 8", checkpoints: vec!["checkpoint_pp_alpha.json".into()], expect: Some((8, Code::AttestationFork)) });

    // Records signed by a key that is not the gate's but claims its key id.
    let rogue = Attestor::new(GATE, a.key_id(), rogue_key()).unwrap();
    let rogue_recs = base_records(&rogue);
    let mut t = base[..3].to_vec();
    t.push(rogue_recs[3].to_json_line());
    files.insert("wrong_key.jsonl".into(), join(&t));
    cases.push(Case { file: "wrong_key.jsonl", proves: "record 3 signed by another key under the gate's key id: attestation_signature_invalid at 3", checkpoints: vec![], expect: Some((3, Code::AttestationSignatureInvalid)) });

    let mut t = join(&base);
    let cut = t.len() - base[9].len() / 2 - 1;
    t.truncate(cut);
    files.insert("torn_tail.jsonl".into(), t);
    cases.push(Case {
        file: "torn_tail.jsonl",
        proves:
            "a crash cut the last line in half: log_torn_tail at 9 (detail has the byte offset)",
        checkpoints: vec![],
        expect: Some((9, Code::LogTornTail)),
    });

    let mut t = base[..2].to_vec();
    let s = String::from_utf8(base[2].clone())
        .unwrap()
        .replace("\"decision\":\"request_hold\"", "\"decision\":\"SUSPEND\"");
    let legacy = resign(s.as_bytes(), &gate_key());
    t.push(legacy);
    files.insert("legacy_decision.jsonl".into(), join(&t));
    cases.push(Case {
        file: "legacy_decision.jsonl",
        proves:
            "a record signed with the legacy spelling SUSPEND verifies and reads as request_hold",
        checkpoints: vec![],
        expect: None,
    });

    let mut t = base.clone();
    t[2] = b"{\"not\":\"an attestation\"}".to_vec();
    files.insert("malformed_line.jsonl".into(), join(&t));
    cases.push(Case {
        file: "malformed_line.jsonl",
        proves: "a line that is not a record: attestation_malformed at 2",
        checkpoints: vec![],
        expect: Some((2, Code::AttestationMalformed)),
    });

    files.insert(
        "keys.json".into(),
        pretty(&json!({
            "gate_id": GATE,
            "key_id": a.key_id(),
            "public_key": a.public_key().to_base64url(),
            "gate_seed_hex": "11".repeat(32),
            "rogue_seed_hex": "22".repeat(32),
            "genesis_pp_alpha": LinkHash::genesis(GATE, "pp_alpha").to_hex(),
            "genesis_pp_beta": LinkHash::genesis(GATE, "pp_beta").to_hex(),
            "clock_t0": ts(0).to_rfc3339_millis().unwrap(),
        })),
    );
    let heads: Value = recs[8..]
        .iter()
        .map(|r| {
            (
                r.body().passport_id.clone(),
                json!({"sequence": r.body().sequence, "hash": r.link_hash().to_hex()}),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into();
    files.insert(
        "expected.json".into(),
        pretty(&json!({
            "chain_valid_heads": heads,
            "chain_valid_link_hashes": recs.iter().map(|r| r.link_hash().to_hex()).collect::<Vec<_>>(),
            "cases": cases.iter().map(|c| json!({
                "file": c.file, "proves": c.proves, "checkpoints": c.checkpoints,
                "first_error": c.expect.map(|(i, code)| json!({"index": i, "code": code.as_str()})),
            })).collect::<Vec<_>>(),
        })),
    );
    files
}

fn pretty(v: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(v).unwrap();
    out.push(b'\n');
    out
}

#[test]
fn vectors_match_files() {
    let dir = common::testvectors_dir().join("attestation");
    let files = generate();
    if std::env::var_os("MODEI_REGENERATE").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in &files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
    // 1. Byte-identical regeneration, and no stray files.
    for (name, bytes) in &files {
        let disk = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            disk == *bytes,
            "{name} differs from what the code generates"
        );
    }
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            name == "README.md" || files.contains_key(&name),
            "stray vector file {name}"
        );
    }
    // 2. Verify every file as read from disk against the recorded expectations.
    let expected = common::load("attestation/expected.json");
    let kj = common::load("attestation/keys.json");
    let pk =
        modei_core::keys::PublicKey::from_base64url(kj["public_key"].as_str().unwrap()).unwrap();
    let mut keys = GateKeySet::new();
    keys.insert(
        kj["gate_id"].as_str().unwrap(),
        kj["key_id"].as_str().unwrap(),
        pk,
    );
    let cases = expected["cases"].as_array().unwrap();
    assert!(cases.len() >= 15);
    for case in cases {
        let file = case["file"].as_str().unwrap();
        let mut v = LogVerifier::new(&keys);
        for cp in case["checkpoints"].as_array().unwrap() {
            let bytes = std::fs::read(dir.join(cp.as_str().unwrap())).unwrap();
            v.checkpoint(&Checkpoint::from_json(&bytes).unwrap())
                .unwrap();
        }
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let report = verify_jsonl(&mut BufReader::new(&bytes[..]), v);
        let got = report
            .first_error
            .as_ref()
            .map(|(i, e)| json!({"index": i, "code": e.code().as_str()}));
        let want = if case["first_error"].is_null() {
            None
        } else {
            Some(case["first_error"].clone())
        };
        assert_eq!(
            got, want,
            "{file} ({}): {:?}",
            case["proves"], report.first_error
        );
        if file == "torn_tail.jsonl" {
            let detail = report.first_error.as_ref().unwrap().1.detail().to_owned();
            assert!(detail.contains("byte offset"), "{detail}");
        }
        if file == "chain_valid.jsonl" {
            assert_eq!(report.records, 10);
            assert_eq!(report.passports, 2);
            for (p, h) in expected["chain_valid_heads"].as_object().unwrap() {
                let head = report.heads[&ChainKey::new(GATE, p)];
                assert_eq!(head.sequence, h["sequence"].as_u64().unwrap());
                assert_eq!(head.hash.to_hex(), h["hash"].as_str().unwrap());
            }
        }
        if file == "legacy_decision.jsonl" {
            let last = bytes
                .split(|b| *b == b'\n')
                .rfind(|l| !l.is_empty())
                .unwrap();
            let r = Attestation::from_json(last).unwrap();
            assert_eq!(r.body().decision, Decision::RequestHold);
            assert_eq!(r.decision_as_signed(), "SUSPEND");
            assert_eq!(r.to_json_line(), last, "legacy bytes are preserved");
        }
    }
    // 3. The genesis values recorded.
    assert_eq!(
        kj["genesis_pp_alpha"].as_str().unwrap(),
        LinkHash::genesis(GATE, "pp_alpha").to_hex()
    );
}

#[test]
fn signed_bytes_are_rfc8785_and_lines_round_trip() {
    let a = attestor();
    for r in base_records(&a) {
        let line = r.to_json_line();
        let mut v: Value = modei_core::json::parse_strict(&line).unwrap();
        assert_eq!(
            canonical::canonicalize(&v),
            line,
            "the line is itself canonical"
        );
        v.as_object_mut().unwrap().remove("signature");
        assert_eq!(canonical::canonicalize(&v), r.signed_bytes());
        assert_eq!(r.link_hash(), LinkHash::of(r.signed_bytes()));
        let back = Attestation::from_json(&line).unwrap();
        assert_eq!(back, r);
        r.verify(&keys()).unwrap();
    }
}

#[test]
fn chain_links_from_genesis() {
    let recs = base_records(&attestor());
    assert_eq!(
        recs[0].body().prev_hash,
        LinkHash::genesis(GATE, "pp_alpha")
    );
    assert_eq!(recs[1].body().prev_hash, LinkHash::genesis(GATE, "pp_beta"));
    assert_eq!(recs[2].body().prev_hash, recs[0].link_hash());
    assert_eq!(recs[2].body().sequence, 2);
    assert_ne!(LinkHash::genesis("a:b", "c"), LinkHash::genesis("a", "b:c"));
    // Ids are derived from (gate, passport, sequence) and unique.
    let mut ids: Vec<_> = recs
        .iter()
        .map(|r| r.body().attestation_id.clone())
        .collect();
    assert!(ids.iter().all(|i| i.starts_with("att_") && i.len() == 36));
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 10);
}

#[test]
fn attestor_refuses_bad_drafts() {
    let a = attestor();
    let head = ChainHead::genesis(GATE, "p");
    let ok = AttestationDraft::new("p", "ag", "x:y", Decision::Allow, ts(0));
    a.attest(&head, &ok).unwrap();
    let big = json!({"n": 9_007_199_254_740_993u64});
    let arr = json!([1]);
    let deep = (0..40).fold(json!(1), |acc, _| json!({"d": acc}));
    let long = "x".repeat(300);
    for (what, d) in [
        (
            "empty passport",
            AttestationDraft::new("", "ag", "x", Decision::Allow, ts(0)),
        ),
        (
            "control char",
            AttestationDraft::new("p\n", "ag", "x", Decision::Allow, ts(0)),
        ),
        (
            "long action",
            AttestationDraft::new("p", "ag", &long, Decision::Allow, ts(0)),
        ),
        ("bad digest", ok.request_digest("ABC")),
        ("upper hex digest", ok.evaluations_digest(&"A".repeat(64))),
        ("inexact terms", ok.terms(&big)),
        ("terms not object", ok.terms(&arr)),
        ("deep terms", ok.terms(&deep)),
        (
            "year 10000",
            AttestationDraft::new(
                "p",
                "ag",
                "x",
                Decision::Allow,
                Timestamp::from_unix_millis(253_402_300_800_000),
            ),
        ),
    ] {
        let e = a.attest(&head, &d).unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{what}: {e}");
    }
    let full = ChainHead {
        sequence: MAX_SEQUENCE,
        hash: head.hash,
    };
    assert_eq!(
        a.attest(&full, &ok).unwrap_err().code(),
        Code::LimitExceeded
    );
}

#[test]
fn strict_reading() {
    let a = attestor();
    let r = &base_records(&a)[0];
    let line = String::from_utf8(r.to_json_line()).unwrap();
    let bad = [
        line.replacen("{", "{\"extra\":1,", 1),
        line.replacen("\"agent_id\":\"agent_a\",", "", 1),
        line.replacen("{", "{\"action\":\"dup\",", 1),
        line.replacen(".000Z", "Z", 1),
        line.replacen("modei.attestation.v1", "modei.attestation.v2", 1),
        line.replacen("\"sequence\":1", "\"sequence\":1.0", 1),
        line.replacen("\"sequence\":1", "\"sequence\":0", 1),
        line.replacen("\"decision\":\"allow\"", "\"decision\":\"ALLOW\"", 1),
        "[]".to_owned(),
        "{".to_owned(),
    ];
    for b in bad {
        let e = Attestation::from_json(b.as_bytes()).unwrap_err();
        assert_eq!(e.code(), Code::AttestationMalformed, "{b}: {e}");
    }
    // Whitespace is fine: signed bytes are recomputed canonically.
    let spaced = line.replace(",\"", ", \"");
    let back = Attestation::from_json(spaced.as_bytes()).unwrap();
    assert_eq!(&back, r);
    for (w, d) in [
        ("PERMIT", Decision::Allow),
        ("SUSPEND", Decision::RequestHold),
        ("BLOCK", Decision::Block),
        ("deny", Decision::Block),
    ] {
        assert_eq!(Decision::parse_wire(w).unwrap().0, d);
    }
}

#[test]
fn unknown_key_and_wrong_key() {
    let r = &base_records(&attestor())[0];
    assert_eq!(
        r.verify(&GateKeySet::new()).unwrap_err().code(),
        Code::KeyUnknown
    );
    let wrong = |_: &str, _: &str| Some(rogue_key().public_key());
    assert_eq!(
        r.verify(&wrong).unwrap_err().code(),
        Code::AttestationSignatureInvalid
    );
}

#[test]
fn logs_refuse_what_does_not_extend_the_chain() {
    let a = attestor();
    let recs = base_records(&a);
    // A heads-only log checks appends like the memory log and ends at the same heads.
    let (mut heads, mut mem) = (HeadsLog::new(), MemoryLog::new());
    for r in &recs {
        heads.append(r).unwrap();
        mem.append(r).unwrap();
        let b = r.body();
        assert_eq!(
            heads.head(&b.gate_id, &b.passport_id),
            mem.head(&b.gate_id, &b.passport_id)
        );
    }
    assert_eq!((heads.len(), heads.log_head()), (mem.len(), mem.log_head()));
    assert_eq!(
        heads.append(&recs[8]).unwrap_err().code(),
        Code::AttestationFork
    );
    let mut fresh = HeadsLog::new();
    assert_eq!(fresh.log_head(), MemoryLog::new().log_head());
    assert_eq!(
        fresh.append(&recs[4]).unwrap_err().code(),
        Code::AttestationSequenceGap
    );
    // As a segment of a shared chain it takes any record past its head.
    fresh.append_shared(&recs[4]).unwrap();
    assert_eq!(
        fresh.append_shared(&recs[2]).unwrap_err().code(),
        Code::AttestationFork
    );
    let mut log = MemoryLog::new();
    log.append(&recs[0]).unwrap();
    assert_eq!(
        log.append(&recs[0]).unwrap_err().code(),
        Code::AttestationFork
    );
    assert_eq!(
        log.append(&recs[4]).unwrap_err().code(),
        Code::AttestationSequenceGap
    );
    // Same sequence, wrong link: a record made from a stale head.
    let (stale, _) = a
        .attest(
            &ChainHead {
                sequence: 1,
                hash: LinkHash([7; 32]),
            },
            &AttestationDraft::new("pp_alpha", "a", "x", Decision::Allow, ts(1)),
        )
        .unwrap();
    assert_eq!(
        log.append(&stale).unwrap_err().code(),
        Code::AttestationHashMismatch
    );
    assert_eq!(log.len(), 1);
    // Export / import round trip.
    let mut full = MemoryLog::new();
    for r in &recs {
        full.append(r).unwrap();
    }
    let mut out = Vec::new();
    full.export_jsonl(&mut out).unwrap();
    let back = MemoryLog::import_jsonl(&mut &out[..], 100).unwrap();
    assert_eq!(back.records(), full.records());
    assert_eq!(back.log_head(), full.log_head());
    assert_eq!(
        MemoryLog::import_jsonl(&mut &out[..], 5)
            .unwrap_err()
            .code(),
        Code::LimitExceeded
    );
    let torn = &out[..out.len() - 3];
    assert_eq!(
        MemoryLog::import_jsonl(&mut &torn[..], 100)
            .unwrap_err()
            .code(),
        Code::LogTornTail
    );
}

#[test]
fn gate_flow_with_external_state_store() {
    // The gate's state store holds the head; sign from it, then compare-and-swap.
    let a = attestor();
    let mut store: BTreeMap<String, ChainHead> = BTreeMap::new();
    let mut log = MemoryLog::new();
    for i in 0..3 {
        let head = *store
            .entry("pp".into())
            .or_insert_with(|| ChainHead::genesis(GATE, "pp"));
        let (rec, new_head) = a
            .attest(
                &head,
                &AttestationDraft::new("pp", "ag", "x", Decision::Allow, ts(i)),
            )
            .unwrap();
        // CAS: only if the head is unchanged.
        assert_eq!(store["pp"], head);
        log.append(&rec).unwrap();
        store.insert("pp".into(), new_head);
        assert_eq!(new_head, rec.head());
    }
    // The agent received the last record: it is as good as a checkpoint.
    let last = log.records().last().unwrap().clone();
    last.verify(&keys()).unwrap();
    let k = keys();
    let mut v = LogVerifier::new(&k);
    v.expect_head(GATE, "pp", last.body().sequence, last.link_hash());
    assert!(
        verify_records(&log.records()[..2], v)
            .first_error
            .unwrap()
            .1
            .code()
            == Code::AttestationTruncated
    );
}

#[test]
fn checkpoints_are_signed_and_strict() {
    let a = attestor();
    let cp = a
        .checkpoint(Some("pp"), &ChainHead::genesis(GATE, "pp"), ts(0))
        .unwrap();
    let back = Checkpoint::from_json(&cp.to_json()).unwrap();
    assert_eq!(back, cp);
    back.verify(&keys()).unwrap();
    let forged = Attestor::new(GATE, a.key_id(), rogue_key())
        .unwrap()
        .checkpoint(Some("pp"), &ChainHead::genesis(GATE, "pp"), ts(0))
        .unwrap();
    assert_eq!(
        forged.verify(&keys()).unwrap_err().code(),
        Code::CheckpointInvalid
    );
    let k = keys();
    let mut v = LogVerifier::new(&k);
    assert_eq!(
        v.checkpoint(&forged).unwrap_err().code(),
        Code::CheckpointInvalid
    );
    let text = String::from_utf8(cp.to_json()).unwrap();
    assert_eq!(
        Checkpoint::from_json(text.replace("\"sequence\":0", "\"sequence\":-1").as_bytes())
            .unwrap_err()
            .code(),
        Code::CheckpointInvalid
    );
}

#[test]
fn over_long_line_is_refused_in_bounded_memory() {
    let mut data = vec![b' '; MAX_RECORD_BYTES + 10];
    data.push(b'\n');
    let k = keys();
    let r = verify_jsonl(&mut BufReader::new(&data[..]), LogVerifier::new(&k));
    let (i, e) = r.first_error.unwrap();
    assert_eq!((i, e.code()), (0, Code::AttestationMalformed));
}

#[cfg(feature = "fs")]
mod file {
    use super::*;

    fn tmp(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("modei-attest-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        dir
    }

    #[test]
    fn file_log_appends_reopens_and_catches_a_torn_tail() {
        let path = tmp("log.jsonl");
        let a = attestor();
        {
            let mut log = FileLog::open(&path, FsyncPolicy::EveryAppend).unwrap();
            for i in 0..4 {
                let p = if i % 2 == 0 { "pp_a" } else { "pp_b" };
                attest_and_append(
                    &mut log,
                    &a,
                    &AttestationDraft::new(p, "ag", "x", Decision::Allow, ts(i)),
                )
                .unwrap();
            }
            assert_eq!(log.len(), 4);
        }
        let mut log = FileLog::open(&path, FsyncPolicy::Batch(8)).unwrap();
        assert_eq!(log.len(), 4);
        assert_eq!(log.head(GATE, "pp_a").sequence, 2);
        let rec = attest_and_append(
            &mut log,
            &a,
            &AttestationDraft::new("pp_a", "ag", "x", Decision::Block, ts(9)),
        )
        .unwrap();
        assert_eq!(rec.body().sequence, 3);
        log.sync().unwrap();
        let k = keys();
        let report = log.verify(LogVerifier::new(&k));
        assert!(report.is_ok(), "{:?}", report.first_error);
        assert_eq!(report.records, 5);
        drop(log);
        // Simulate a crash mid-write: half a record, no newline.
        let full = std::fs::read(&path).unwrap();
        let mut torn = full.clone();
        torn.extend_from_slice(&rec.to_json_line()[..100]);
        std::fs::write(&path, &torn).unwrap();
        let e = FileLog::open(&path, FsyncPolicy::EveryAppend).unwrap_err();
        assert_eq!(e.code(), Code::LogTornTail);
        assert!(
            e.detail().contains(&format!("byte offset {}", full.len())),
            "{e}"
        );
        // Explicit repair hands the bytes back; nothing is dropped silently.
        let cut = FileLog::repair_torn_tail(&path).unwrap().unwrap();
        assert_eq!(cut.offset, full.len() as u64);
        assert_eq!(cut.bytes.len(), 100);
        assert_eq!(std::fs::read(&path).unwrap(), full);
        assert!(FileLog::repair_torn_tail(&path).unwrap().is_none());
        let log = FileLog::open(&path, FsyncPolicy::EveryAppend).unwrap();
        assert_eq!(log.len(), 5);
        let _ = std::fs::remove_file(&path);
    }
}

/// The 1M-record streaming verification (release only; slow in debug):
/// `MODEI_STREAM_RECORDS=1000000 cargo test --release -p modei-core --test attestation -- --ignored stream --nocapture`
#[cfg(feature = "fs")]
/// Streams a file log through the verifier. Small by default; set `MODEI_STREAM_RECORDS`
/// (e.g. 1000000, in release) to measure throughput on a large log.
#[test]
fn stream_verify_large_log() {
    let n: u64 = std::env::var("MODEI_STREAM_RECORDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3_000);
    let path = std::env::temp_dir().join(format!("modei-stream-{}.jsonl", std::process::id()));
    let a = attestor();
    let t = std::time::Instant::now();
    {
        let mut log = FileLog::open(&path, FsyncPolicy::Never).unwrap();
        let passports: Vec<String> = (0..1000).map(|i| format!("pp_{i:04}")).collect();
        for i in 0..n {
            let p = &passports[(i % 1000) as usize];
            attest_and_append(
                &mut log,
                &a,
                &AttestationDraft::new(p, "agent", "flights:search", Decision::Allow, ts(i as i64))
                    .target("https://api.flights.example/v1/search"),
            )
            .unwrap();
        }
    }
    let size = std::fs::metadata(&path).unwrap().len();
    eprintln!("wrote {n} records ({size} bytes) in {:.1?}", t.elapsed());
    let k = keys();
    let t = std::time::Instant::now();
    let f = std::fs::File::open(&path).unwrap();
    let report = verify_jsonl(
        &mut BufReader::with_capacity(1 << 16, f),
        LogVerifier::new(&k),
    );
    let el = t.elapsed();
    assert!(report.is_ok(), "{:?}", report.first_error);
    assert_eq!(report.records, n);
    eprintln!(
        "verified {n} records, {} chains, in {:.2?}: {:.0} records/s",
        report.passports,
        el,
        n as f64 / el.as_secs_f64()
    );
    let _ = std::fs::remove_file(&path);
}

#[test]
fn verifier_edges() {
    let a = attestor();
    let recs = base_records(&a);
    let k = keys();
    // A segment verifies from a known head; without it, it starts with a gap.
    let mut v = LogVerifier::new(&k);
    v.start_from(GATE, "pp_alpha", recs[2].head());
    v.start_from(GATE, "pp_beta", recs[3].head());
    assert!(verify_records(&recs[4..], v).is_ok());
    let r = verify_records(&recs[4..], LogVerifier::new(&k));
    assert_eq!(
        r.first_error.map(|(i, e)| (i, e.code())),
        Some((0, Code::AttestationSequenceGap))
    );
    // Swapped records of *different* chains are fine: chains are independent.
    let mut t = recs.clone();
    t.swap(4, 5);
    assert!(verify_records(&t, LogVerifier::new(&k)).is_ok());
    // A whole-log checkpoint whose record n differs from the log's.
    let other = ChainHead {
        sequence: 10,
        hash: recs[8].link_hash(),
    };
    let cp = a.checkpoint(None, &other, ts(30)).unwrap();
    let mut v = LogVerifier::new(&k);
    v.checkpoint(&cp).unwrap();
    let r = verify_records(&recs, v);
    assert_eq!(
        r.first_error.map(|(i, e)| (i, e.code())),
        Some((9, Code::AttestationHashMismatch))
    );
    // A checkpoint for a passport the log never mentions: truncated at the end.
    let cp = a
        .checkpoint(
            Some("pp_gamma"),
            &ChainHead {
                sequence: 1,
                hash: LinkHash([1; 32]),
            },
            ts(30),
        )
        .unwrap();
    let mut v = LogVerifier::new(&k);
    v.checkpoint(&cp).unwrap();
    let r = verify_records(&recs, v);
    assert_eq!(
        r.first_error.map(|(i, e)| (i, e.code())),
        Some((10, Code::AttestationTruncated))
    );
    // An empty log against an empty whole-log checkpoint is fine.
    let cp = a
        .checkpoint(
            None,
            &ChainHead {
                sequence: 0,
                hash: LinkHash([0; 32]),
            },
            ts(30),
        )
        .unwrap();
    let mut v = LogVerifier::new(&k);
    v.checkpoint(&cp).unwrap();
    assert!(verify_records(&[], v).is_ok());
    // The first failure wins: a gap in one chain before a bad signature in another.
    let mut t = recs.clone();
    t.remove(2); // pp_alpha seq 2: the gap shows at pp_alpha seq 3 (now index 3)
    let rogue = Attestor::new(GATE, a.key_id(), rogue_key()).unwrap();
    t[4] = base_records(&rogue)[5].clone(); // pp_beta seq 3, bad signature at index 4
    let r = verify_records(&t, LogVerifier::new(&k));
    assert_eq!(
        r.first_error.map(|(i, e)| (i, e.code())),
        Some((3, Code::AttestationSequenceGap))
    );
    // Records of another gate need that gate's key.
    let g2 = Attestor::with_thumbprint_key_id("gate:other", rogue_key()).unwrap();
    let (r2, _) = g2
        .attest(
            &ChainHead::genesis("gate:other", "pp_alpha"),
            &AttestationDraft::new("pp_alpha", "a", "x", Decision::Allow, ts(0)),
        )
        .unwrap();
    let r = verify_records([&recs[0], &r2], LogVerifier::new(&k));
    assert_eq!(
        r.first_error.map(|(i, e)| (i, e.code())),
        Some((1, Code::KeyUnknown))
    );
    let mut k2 = keys();
    k2.insert("gate:other", g2.key_id(), g2.public_key());
    let r = verify_records([&recs[0], &r2], LogVerifier::new(&k2));
    assert!(r.is_ok());
    assert_eq!(
        r.passports, 2,
        "same passport id under two gates = two chains"
    );
}

#[test]
fn parallel_verification_agrees_with_sequential() {
    let dir = common::testvectors_dir().join("attestation");
    let k = keys();
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    // Plus every single-record corruption of a longer log, spanning several batches.
    let a = attestor();
    let mut log = MemoryLog::new();
    for i in 0..48i64 {
        let p = format!("pp_{}", i % 7);
        attest_and_append(
            &mut log,
            &a,
            &AttestationDraft::new(&p, "ag", "x", Decision::Allow, ts(i)),
        )
        .unwrap();
    }
    let mut base = Vec::new();
    log.export_jsonl(&mut base).unwrap();
    let lines: Vec<&[u8]> = base
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    files.push(("big".into(), base.clone()));
    for at in [0usize, 15, 16, 47] {
        let mut t: Vec<Vec<u8>> = lines.iter().map(|l| l.to_vec()).collect();
        let pos = t[at].windows(3).position(|w| w == b"\"x\"").unwrap();
        t[at][pos + 1] = b'y'; // signature breaks at `at`
        t.swap(38, 45); // and a later reorder of pp_3 (seq 6 and 7)
        files.push((format!("bad sig at {at}"), join(&t)));
        let mut t: Vec<Vec<u8>> = lines.iter().map(|l| l.to_vec()).collect();
        t.remove(at);
        files.push((format!("dropped {at}"), join(&t)));
    }
    for (name, bytes) in files {
        let seq = verify_jsonl(&mut BufReader::new(&bytes[..]), LogVerifier::new(&k));
        for threads in [2, 3] {
            let par = verify_jsonl_parallel(
                &mut BufReader::new(&bytes[..]),
                LogVerifier::new(&k),
                threads,
                16,
            );
            let f = |r: &LogReport| r.first_error.as_ref().map(|(i, e)| (*i, e.code()));
            assert_eq!(f(&par), f(&seq), "{name} with {threads} threads");
            if seq.is_ok() {
                assert_eq!(par, seq, "{name}");
            }
        }
    }
}
