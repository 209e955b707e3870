//! Property tests (proptest): canonical JSON, issue → verify round trips, single-byte tampering,
//! and the state store's caps under random interleavings. Case counts are kept small enough for
//! the dev-profile CI run; `PROPTEST_CASES=N` raises them.

use modei_core::attestation::{AttestationDraft, Attestor, ChainHead, Decision, GateKeySet};
use modei_core::canonical::{canonicalize, canonicalize_text};
use modei_core::envelope::Permission;
use modei_core::keys::SigningKey;
use modei_core::passport::{JwtIssue, Verifier};
use modei_core::state::{MemoryStateStore, Reservation, SpendCap, StateStore, Window};
use modei_core::time::Timestamp;
use modei_core::trust::{Policy, TrustStore};
use proptest::prelude::*;
use serde_json::{Map, Value};

const T0: i64 = 1_772_409_600_000;

/// JSON values: every kind, nested up to depth 4, unicode keys and strings, numbers of every
/// shape serde_json reads (integers, big integers, fractions, exponents).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e300f64..1e300).prop_map(Value::from),
        (-1000i32..1000, -30i32..30).prop_map(|(m, e)| Value::from(m as f64 * 10f64.powi(e))),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn constraints() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(
        "[a-z]{1,6}:[a-z_]{1,10}",
        prop_oneof![
            (0i64..1_000_000).prop_map(Value::from),
            "[a-z.*]{1,12}".prop_map(Value::String),
            prop::collection::vec("[a-z]{1,8}", 0..4)
                .prop_map(|v| Value::Array(v.into_iter().map(Value::String).collect())),
            any::<bool>().prop_map(Value::Bool),
        ],
        0..5,
    )
    .prop_map(|m| m.into_iter().collect())
}

fn permissions() -> impl Strategy<Value = Vec<Permission>> {
    prop::collection::btree_map("[a-z]{1,8}:([a-z]{1,8}|\\*)", constraints(), 1..5).prop_map(|m| {
        m.into_iter()
            .map(|(permission_key, constraints)| Permission {
                permission_key,
                constraints: constraints.into(),
            })
            .collect()
    })
}

fn self_issued(perms: &[Permission], seed: u8) -> (String, SigningKey) {
    let agent = SigningKey::from_seed(&[seed; 32]);
    let mut iss = JwtIssue::new(
        "pp_prop",
        "agent_prop",
        agent.public_key(),
        Timestamp::from_unix_millis(T0 - 3_600_000),
        Timestamp::from_unix_millis(T0 + 86_400_000),
    );
    iss.permissions = perms.to_vec();
    (iss.self_issue(&agent).unwrap(), agent)
}

fn json_limit(v: i64) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("max_per_action_cost".into(), Value::from(v));
    m
}

fn verifier() -> Verifier {
    Verifier::new(TrustStore::new(), Policy::new().allow_self_issued(true))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Canonicalizing canonical bytes changes nothing.
    #[test]
    fn canonicalize_is_idempotent(v in json_value()) {
        let once = canonicalize(&v);
        let twice = canonicalize_text(&once).unwrap();
        prop_assert_eq!(once, twice);
    }

    /// The order in which an object's members were written does not matter.
    #[test]
    fn canonicalize_ignores_member_order(
        members in prop::collection::btree_map("\\PC{0,8}", json_value(), 0..8),
        seed in any::<u64>(),
    ) {
        let forward: Map<String, Value> = members.clone().into_iter().collect();
        let mut shuffled: Vec<(String, Value)> = members.into_iter().collect();
        // A deterministic shuffle from the seed.
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let text = format!(
            "{{{}}}",
            shuffled
                .iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), v))
                .collect::<Vec<_>>()
                .join(",")
        );
        prop_assert_eq!(
            canonicalize(&Value::Object(forward)),
            canonicalize_text(text.as_bytes()).unwrap()
        );
    }

    /// A JWT passport issued with any permissions verifies and reads back the same.
    #[test]
    fn jwt_issue_verify_round_trip(perms in permissions(), seed in 1u8..=255) {
        let (token, agent) = self_issued(&perms, seed);
        let p = verifier().verify(&token, Timestamp::from_unix_millis(T0)).unwrap();
        prop_assert_eq!(p.permissions, perms);
        prop_assert_eq!(p.agent_key, *agent.public_key().bytes());
    }

    /// Any single-byte change to a signed JWT passport is refused.
    #[test]
    fn jwt_single_byte_change_is_refused(
        perms in permissions(),
        pos in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let (token, _) = self_issued(&perms, 7);
        let mut b = token.into_bytes();
        let i = pos.index(b.len());
        prop_assume!(b[i] != byte);
        b[i] = byte;
        prop_assert!(verifier().verify(&b, Timestamp::from_unix_millis(T0)).is_err());
    }

    /// A v2 envelope issued with any permissions verifies and reads back the same; any
    /// single-byte change to its compact JSON is refused.
    #[test]
    fn envelope_round_trip_and_single_byte_change(
        perms in permissions(),
        pos in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let key = SigningKey::from_seed(&[11; 32]);
        let signed = modei_core::envelope::SelfIssue {
            passport_id: "pp_prop_envelope".into(),
            agent_name: Some("prop@example.com".into()),
            permissions: perms.clone(),
            issued_at: Timestamp::from_unix_millis(T0 - 3_600_000),
            expires_at: Timestamp::from_unix_millis(T0 + 86_400_000),
            delegation_authority: false,
            verification_evidence: vec![],
        }
        .sign(&key)
        .unwrap();
        let wire = serde_json::to_vec(&signed.to_wire()).unwrap();
        let now = Timestamp::from_unix_millis(T0);
        let p = verifier().verify(&wire, now).unwrap();
        prop_assert_eq!(p.permissions, perms);
        let mut b = wire;
        let i = pos.index(b.len());
        prop_assume!(b[i] != byte);
        b[i] = byte;
        prop_assert!(verifier().verify(&b, now).is_err(), "accepted: {}", String::from_utf8_lossy(&b));
    }

    /// Any single-byte change to a signed attestation record is refused.
    #[test]
    fn attestation_single_byte_change_is_refused(
        action in "[a-z]{1,8}:[a-z]{1,8}",
        pos in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let key = SigningKey::from_seed(&[5; 32]);
        let attestor = Attestor::new("gate_p", "gk1", key.clone()).unwrap();
        let draft = AttestationDraft::new(
            "pp_prop", "agent_prop", &action, Decision::Allow, Timestamp::from_unix_millis(T0),
        );
        let (rec, _) = attestor.attest(&ChainHead::genesis("gate_p", "pp_prop"), &draft).unwrap();
        let mut keys = GateKeySet::new();
        keys.insert("gate_p", "gk1", key.public_key());
        let mut line = rec.to_json_line();
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        prop_assert!(modei_core::attestation::Attestation::from_json(&line).unwrap().verify(&keys).is_ok());
        let i = pos.index(line.len());
        prop_assume!(line[i] != byte);
        line[i] = byte;
        let refused = match modei_core::attestation::Attestation::from_json(&line) {
            Err(_) => true,
            Ok(r) => r.verify(&keys).is_err(),
        };
        prop_assert!(refused);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The delegation builder signs exactly the delegations the rules allow (a subset of the
    /// parent's permissions, each limit at most the parent's), and what it signs verifies with
    /// the child's permissions.
    #[test]
    fn delegation_builder_follows_the_subset_and_tightening_rules(
        parent_limits in prop::collection::btree_map("[a-z]{1,6}:[a-z]{1,6}", 1i64..100_000, 1..5),
        picks in prop::collection::vec((any::<prop::sample::Index>(), -50_000i64..50_000), 1..5),
        extra in prop::option::weighted(0.2, "[a-z]{1,6}:[a-z]{1,6}"),
    ) {
        use modei_core::envelope::{verify_wire, DelegationBuilder, SelfIssue, VerifyOptions};
        let limit = |v: i64| json_limit(v);
        let root_key = SigningKey::from_seed(&[21; 32]);
        let child_key = SigningKey::from_seed(&[22; 32]);
        let at = |ms: i64| Timestamp::from_unix_millis(ms);
        let parent = SelfIssue {
            passport_id: "pp_prop_parent".into(),
            agent_name: None,
            permissions: parent_limits
                .iter()
                .map(|(k, v)| Permission { permission_key: k.clone(), constraints: limit(*v).into() })
                .collect(),
            issued_at: at(T0 - 7_200_000),
            expires_at: at(T0 + 86_400_000),
            delegation_authority: true,
            verification_evidence: vec![],
        }
        .sign(&root_key)
        .unwrap();
        let keys: Vec<&String> = parent_limits.keys().collect();
        let mut child: std::collections::BTreeMap<String, i64> = Default::default();
        for (ix, delta) in &picks {
            let k = keys[ix.index(keys.len())];
            child.insert(k.clone(), (parent_limits[k] + delta).max(0));
        }
        let mut allowed = child.iter().all(|(k, v)| *v <= parent_limits[k]);
        if let Some(x) = &extra {
            if !parent_limits.contains_key(x) {
                allowed = false;
            }
            child.entry(x.clone()).or_insert(1);
        }
        let perms: Vec<Permission> = child
            .iter()
            .map(|(k, v)| Permission { permission_key: k.clone(), constraints: limit(*v).into() })
            .collect();
        let signed = DelegationBuilder::new(
            &parent,
            child_key.public_key(),
            "pp_prop_child".to_string(),
            at(T0 - 3_600_000),
        )
        .permissions(perms.clone())
        .sign(&root_key);
        prop_assert_eq!(signed.is_ok(), allowed, "{:?}", signed.as_ref().err());
        if let Ok(env) = signed {
            let wire = serde_json::to_vec(&env.to_wire()).unwrap();
            let v = verify_wire(&wire, &VerifyOptions::at(at(T0)));
            prop_assert!(v.is_ok(), "{:?}", v.err());
            let p = verifier().verify(&wire, at(T0)).unwrap();
            prop_assert_eq!(p.permissions, perms);
        }
    }

    /// Threads reserving random amounts against one cap: the committed total never exceeds the
    /// cap and equals the sum of the reservations that were granted.
    #[test]
    fn spend_cap_holds_under_random_interleavings(
        cap in 0i64..5_000,
        amounts in prop::collection::vec(prop::collection::vec(0i64..700, 1..40), 2..5),
    ) {
        let store = MemoryStateStore::new();
        let now = Timestamp::from_unix_millis(T0);
        let granted: i64 = std::thread::scope(|s| {
            let hs: Vec<_> = amounts
                .iter()
                .map(|list| {
                    let store = &store;
                    s.spawn(move || {
                        list.iter()
                            .filter(|&&a| {
                                let r = Reservation {
                                    subject: "pp".into(),
                                    counter: "c".into(),
                                    now,
                                    rates: vec![],
                                    amount: a,
                                    caps: vec![SpendCap {
                                        key: "core:cost:max_cumulative".into(),
                                        window: Window::Day,
                                        cap,
                                    }],
                                    hold: None,
                                };
                                store.check_and_commit(&r).unwrap().is_ok()
                            })
                            .sum::<i64>()
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum()
        });
        let spent = store.snapshot("pp", "c", now).unwrap().spend_day;
        prop_assert!(spent <= cap, "spent {} over cap {}", spent, cap);
        prop_assert_eq!(spent, granted);
    }
}
