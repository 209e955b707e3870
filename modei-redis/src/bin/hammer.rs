//! Test helper: one process of a multi-process hammer against a shared Redis.
//!
//! `modei-redis-hammer <url> <gate_id> <mode> <n> <seed>` prints one line `allowed=<k>`:
//! * `cap`: n attempts of 7 cents against a 1000-cent total cap on subject `hot`;
//! * `nonce`: n nonces `n0..n<n>` (the same set in every process);
//! * `seq`: n chain appends with compare-and-swap on chain `chain`, hash `<seed>-<seq>`;
//! * `gate`: n checks of one self-issued passport by a gate with `shared_chains`, writing this
//!   process's segment of the chain to the file `<seed>` (`allowed` counts the allows).
use modei_core::state::{Reservation, SpendCap, StateStore, Window};
use modei_core::time::Timestamp;
use modei_redis::{RedisConfig, RedisStateStore};
use std::time::Duration;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() != 6 {
        eprintln!("usage: modei-redis-hammer <url> <gate_id> <cap|nonce|seq> <n> <seed>");
        std::process::exit(2);
    }
    let mut cfg = RedisConfig::new(a[1].clone(), a[2].clone());
    cfg.timeout = Duration::from_secs(2);
    let store = match RedisStateStore::new(cfg) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let n: u64 = a[4].parse().unwrap_or(0);
    let t = 1_767_225_600_000i64;
    if a[3] == "gate" {
        match gate_mode(store, &a[2], n, &a[5], t) {
            Ok(k) => println!("allowed={k}"),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
        return;
    }
    let mut allowed = 0u64;
    for i in 0..n {
        let ok = match a[3].as_str() {
            "cap" => store
                .check_and_commit(&Reservation {
                    subject: "hot".into(),
                    counter: "c".into(),
                    now: Timestamp::from_unix_millis(t + i as i64),
                    rates: vec![],
                    amount: 7,
                    caps: vec![SpendCap {
                        key: "core:cost:max_cumulative".into(),
                        window: Window::Total,
                        cap: 1000,
                    }],
                    hold: None,
                })
                .map(|r| r.is_ok()),
            "nonce" => store.check_nonce(
                "g",
                &format!("n{i}"),
                Timestamp::from_unix_millis(t),
                Timestamp::from_unix_millis(t + 300_000),
            ),
            "seq" => loop {
                match store.next_sequence("chain", None) {
                    Ok((seq, _)) => {
                        match store.commit_head("chain", seq, &format!("{}-{seq}", a[5])) {
                            Ok(true) => break Ok(true),
                            Ok(false) => continue,
                            Err(e) => break Err(e),
                        }
                    }
                    Err(e) => break Err(e),
                }
            },
            m => {
                eprintln!("unknown mode {m}");
                std::process::exit(2);
            }
        };
        match ok {
            Ok(true) => allowed += 1,
            Ok(false) => {}
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    }
    println!("allowed={allowed}");
}

fn gate_mode(
    store: RedisStateStore,
    gate_id: &str,
    n: u64,
    log_path: &str,
    t: i64,
) -> modei_core::Result<u64> {
    use modei_core::attestation::{FileLog, FsyncPolicy};
    use modei_core::envelope::Permission;
    use modei_core::gate::{Gate, GateConfig, GateRequest, Profile};
    use modei_core::keys::SigningKey;
    use modei_core::passport::JwtIssue;
    use modei_core::trust::TrustStore;
    use std::sync::Arc;

    let ts = Timestamp::from_unix_millis;
    let mut cfg = GateConfig::new(gate_id, Profile::L1, TrustStore::new())
        .with_signing_key(SigningKey::from_seed(&[7; 32]), "gk1")
        .with_state(Arc::new(store))
        .with_log(Box::new(FileLog::open_segment(
            log_path,
            FsyncPolicy::Never,
        )?));
    cfg.checkpoints = false;
    cfg.shared_chains = true;
    let gate = Gate::new(cfg)?;
    let agent = SigningKey::from_seed(&[9; 32]);
    let mut iss = JwtIssue::new(
        "pp_shared",
        "agent_shared",
        agent.public_key(),
        ts(t - 3_600_000),
        ts(t + 86_400_000),
    );
    iss.permissions = vec![Permission {
        permission_key: "docs:*".into(),
        constraints: Default::default(),
    }];
    let token = iss.self_issue(&agent)?;
    let req = GateRequest::new("docs:read").passport(&token);
    Ok((0..n)
        .filter(|_| gate.check_at(&req, ts(t)).is_allowed())
        .count() as u64)
}
