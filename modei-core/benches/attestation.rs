//! Attestation benchmarks.
//!
//! `cargo bench -p modei-core --bench attestation -- --warm-up-time 1 --measurement-time 3`
//!
//! - `attest/raw_ed25519_sign`: the floor: Ed25519 sign of a typical record's signed bytes;
//! - `attest/create_sign_link`: `Attestor::attest` (validate, build RFC 8785 bytes, BLAKE3 link,
//!   sign) for the same record: target ratio ≤ 1.2× the raw sign;
//! - `attest/raw_verify_strict`, `attest/parse_record_line`, `attest/verify_record_line`: one
//!   record: raw verify, strict parse alone, parse + verify;
//! - `chain/verify_10k`, `chain/verify_10k_parallel`: a 10,000-record JSON Lines log through
//!   `verify_jsonl` / `verify_jsonl_parallel` (all cores) (per record = time / 10,000).
//!
//! With `MODEI_BENCH_RATIO=1`, first runs an interleaved A/B of raw sign vs create+sign+link
//! (robust to a noisy shared machine) and prints both medians and the ratio.
//! With `MODEI_BENCH_STREAM=1000000`, first writes that many records to a temporary file and
//! times the streaming verification of the file (records/s, peak RSS).

use criterion::{criterion_group, Criterion, Throughput};
use modei_core::attestation::*;
use modei_core::canonical;
use modei_core::catalog::CatalogPin;
use modei_core::keys::SigningKey;
use modei_core::time::Timestamp;
use serde_json::json;
use std::hint::black_box;
use std::io::BufReader;

const GATE: &str = "gate:flights-prod";

fn attestor() -> Attestor {
    Attestor::with_thumbprint_key_id(GATE, SigningKey::from_seed(&[0x11; 32])).unwrap()
}

fn keys(a: &Attestor) -> GateKeySet {
    let mut k = GateKeySet::new();
    k.insert(GATE, a.key_id(), a.public_key());
    k
}

struct Fixture {
    evals: String,
    req: String,
    pin: CatalogPin,
}

fn fixture() -> Fixture {
    Fixture {
        evals: evaluations_digest(&json!([{"key": "core:rate:max_per_minute", "result": "pass"}])),
        req: canonical::content_hash(&json!({"q": "LHR-JFK"})),
        pin: CatalogPin {
            gate_id: GATE.into(),
            version: 3,
            content_hash: Some(canonical::content_hash(&json!({"c": 1}))),
        },
    }
}

fn draft<'a>(f: &'a Fixture, passport: &'a str, i: i64) -> AttestationDraft<'a> {
    AttestationDraft::new(
        passport,
        "agent_self_3vJZ2kPq0x",
        "flights:search",
        Decision::Allow,
        Timestamp::from_unix_millis(1_780_272_000_000 + i),
    )
    .target("https://api.flights.example/v1/search")
    .evaluations_digest(&f.evals)
    .request_digest(&f.req)
    .catalog(&f.pin)
}

fn log_bytes(a: &Attestor, f: &Fixture, n: u64, passports: u64) -> Vec<u8> {
    let names: Vec<String> = (0..passports).map(|i| format!("pp_{i:05}")).collect();
    let mut log = MemoryLog::new();
    for i in 0..n {
        let p = &names[(i % passports) as usize];
        attest_and_append(&mut log, a, &draft(f, p, i as i64)).unwrap();
    }
    let mut out = Vec::new();
    log.export_jsonl(&mut out).unwrap();
    out
}

fn bench_attest(c: &mut Criterion) {
    let a = attestor();
    let f = fixture();
    let head = ChainHead::genesis(GATE, "pp_00001");
    let d = draft(&f, "pp_00001", 0);
    let (rec, _) = a.attest(&head, &d).unwrap();
    let signed = rec.signed_bytes().to_vec();
    let line = rec.to_json_line();
    let sk = SigningKey::from_seed(&[0x11; 32]);
    let pk = a.public_key();
    let k = keys(&a);
    eprintln!(
        "record: {} signed bytes, {} line bytes",
        signed.len(),
        line.len()
    );
    let mut g = c.benchmark_group("attest");
    g.bench_function("raw_ed25519_sign", |b| {
        b.iter(|| sk.sign(black_box(&signed)))
    });
    g.bench_function("create_sign_link", |b| {
        b.iter(|| a.attest(black_box(&head), black_box(&d)).unwrap())
    });
    g.bench_function("raw_verify_strict", |b| {
        b.iter(|| {
            pk.verify_strict(black_box(&signed), rec.signature())
                .unwrap()
        })
    });
    g.bench_function("parse_record_line", |b| {
        b.iter(|| Attestation::from_json(black_box(&line)).unwrap())
    });
    g.bench_function("verify_record_line", |b| {
        b.iter(|| {
            let r = Attestation::from_json(black_box(&line)).unwrap();
            r.verify(&k).unwrap();
        })
    });
    g.finish();
}

fn bench_chain(c: &mut Criterion) {
    let a = attestor();
    let f = fixture();
    let k = keys(&a);
    let bytes = log_bytes(&a, &f, 10_000, 100);
    let mut g = c.benchmark_group("chain");
    g.sample_size(10);
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("verify_10k", |b| {
        b.iter(|| {
            let r = verify_jsonl(
                &mut BufReader::new(black_box(&bytes[..])),
                LogVerifier::new(&k),
            );
            assert!(r.is_ok());
            r.records
        })
    });
    g.bench_function("verify_10k_parallel", |b| {
        b.iter(|| {
            let r = verify_jsonl_parallel(
                &mut BufReader::new(black_box(&bytes[..])),
                LogVerifier::new(&k),
                0,
                0,
            );
            assert!(r.is_ok());
            r.records
        })
    });
    g.finish();
}

criterion_group!(benches, bench_attest, bench_chain);

fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn stream(n: u64) {
    let a = attestor();
    let f = fixture();
    let path =
        std::env::temp_dir().join(format!("modei-bench-stream-{}.jsonl", std::process::id()));
    let names: Vec<String> = (0..1000).map(|i| format!("pp_{i:05}")).collect();
    let t = std::time::Instant::now();
    {
        let mut log = FileLog::open(&path, FsyncPolicy::Never).unwrap();
        for i in 0..n {
            let p = &names[(i % 1000) as usize];
            attest_and_append(&mut log, &a, &draft(&f, p, i as i64)).unwrap();
        }
        log.sync().unwrap();
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let wrote = t.elapsed();
    eprintln!(
        "stream: wrote {n} records ({:.1} MB) in {:.1?} ({:.0} appends/s, peak RSS {:?} KiB)",
        size as f64 / 1e6,
        wrote,
        n as f64 / wrote.as_secs_f64(),
        peak_rss_kib()
    );
    let k = keys(&a);
    let t = std::time::Instant::now();
    let file = std::fs::File::open(&path).unwrap();
    let r = verify_jsonl(
        &mut BufReader::with_capacity(1 << 16, file),
        LogVerifier::new(&k),
    );
    let el = t.elapsed();
    assert!(r.is_ok(), "{:?}", r.first_error);
    assert_eq!(r.records, n);
    eprintln!(
        "stream: verified {n} records / {} chains in {:.2?}: {:.0} records/s ({:.2} µs/record), peak RSS {:?} KiB",
        r.passports,
        el,
        n as f64 / el.as_secs_f64(),
        el.as_secs_f64() * 1e6 / n as f64,
        peak_rss_kib()
    );
    let t = std::time::Instant::now();
    let file = std::fs::File::open(&path).unwrap();
    let r = verify_jsonl_parallel(
        &mut BufReader::with_capacity(1 << 16, file),
        LogVerifier::new(&k),
        0,
        0,
    );
    let el = t.elapsed();
    assert!(r.is_ok(), "{:?}", r.first_error);
    assert_eq!(r.records, n);
    eprintln!(
        "stream: verified {n} records in parallel ({} threads) in {:.2?}: {:.0} records/s, peak RSS {:?} KiB",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        el,
        n as f64 / el.as_secs_f64(),
        peak_rss_kib()
    );
    let _ = std::fs::remove_file(&path);
}

/// Interleaved A/B: alternating blocks of raw sign and create+sign+link, so machine noise falls
/// on both alike. Prints the median and minimum per-op time of each and their ratios.
fn ratio() {
    let a = attestor();
    let f = fixture();
    let head = ChainHead::genesis(GATE, "pp_00001");
    let d = draft(&f, "pp_00001", 0);
    let (rec, _) = a.attest(&head, &d).unwrap();
    let signed = rec.signed_bytes().to_vec();
    let sk = SigningKey::from_seed(&[0x11; 32]);
    let (blocks, per) = (200, 100);
    let mut raw = Vec::with_capacity(blocks);
    let mut full = Vec::with_capacity(blocks);
    for _ in 0..blocks {
        let t = std::time::Instant::now();
        for _ in 0..per {
            black_box(sk.sign(black_box(&signed)));
        }
        raw.push(t.elapsed().as_secs_f64() * 1e6 / per as f64);
        let t = std::time::Instant::now();
        for _ in 0..per {
            black_box(a.attest(black_box(&head), black_box(&d)).unwrap());
        }
        full.push(t.elapsed().as_secs_f64() * 1e6 / per as f64);
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[0])
    };
    let (rm, rmin) = med(&mut raw);
    let (fm, fmin) = med(&mut full);
    eprintln!(
        "ratio: raw sign median {rm:.2} µs (min {rmin:.2}); create+sign+link median {fm:.2} µs (min {fmin:.2}); ratio of medians {:.3}, of minimums {:.3}",
        fm / rm,
        fmin / rmin
    );
    // Same for verification: raw verify_strict vs strict parse + chain-free verify of the line.
    let line = rec.to_json_line();
    let pk = a.public_key();
    let k = keys(&a);
    let (blocks, per) = (100, 50);
    let mut raw = Vec::with_capacity(blocks);
    let mut full = Vec::with_capacity(blocks);
    for _ in 0..blocks {
        let t = std::time::Instant::now();
        for _ in 0..per {
            pk.verify_strict(black_box(&signed), rec.signature())
                .unwrap();
        }
        raw.push(t.elapsed().as_secs_f64() * 1e6 / per as f64);
        let t = std::time::Instant::now();
        for _ in 0..per {
            Attestation::from_json(black_box(&line))
                .unwrap()
                .verify(&k)
                .unwrap();
        }
        full.push(t.elapsed().as_secs_f64() * 1e6 / per as f64);
    }
    let (rm, rmin) = med(&mut raw);
    let (fm, fmin) = med(&mut full);
    eprintln!(
        "ratio: raw verify_strict median {rm:.2} µs (min {rmin:.2}); parse+verify line median {fm:.2} µs (min {fmin:.2}); ratio of medians {:.3}, of minimums {:.3}",
        fm / rm,
        fmin / rmin
    );
}

fn main() {
    if std::env::var_os("MODEI_BENCH_RATIO").is_some() {
        ratio();
    }
    if let Some(n) = std::env::var("MODEI_BENCH_STREAM")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        stream(n);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
