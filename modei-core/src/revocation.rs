//! Revocation: which passports, agents and issuer keys are revoked, and how fresh that knowledge is.
//!
//! A [`RevocationSource`] answers three questions and says when it last heard from its
//! authority. The verifier asks about every passport id and agent id in a passport's lineage
//! (revoking a parent revokes everything delegated from it) and about the root issuer key.
//!
//! Freshness depends on the trust profile ([`Freshness`]): L1 does not check, L2 accepts a list up
//! to 300 s old and then verifies with a warning, L3 refuses (`revocation_stale`) once the list is
//! older than 60 s. A revoked entry is refused whatever the list's age: a stale "revoked" is still
//! a revocation.
//!
//! [`RevocationList`] is the in-memory implementation; its JSON format is in
//! `docs/trust-store.md` (section "Revocation list").

use crate::error::{Code, Error, Result};
use crate::json;
use crate::time::Timestamp;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};

/// Something that knows what is revoked.
pub trait RevocationSource: Send + Sync {
    /// Whether the passport with this id is revoked.
    fn passport_revoked(&self, passport_id: &str) -> bool;
    /// Whether every passport of this agent is revoked.
    fn agent_revoked(&self, agent_id: &str) -> bool;
    /// Whether this issuer key is revoked.
    fn issuer_key_revoked(&self, issuer_id: &str, key_id: &str) -> bool;
    /// When the source last synchronised with its authority.
    fn last_refreshed(&self) -> Timestamp;
}

/// How old revocation data may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// No requirement (profile L1). A configured source is still consulted.
    Any,
    /// Older than this many milliseconds: verify, with a [`Warning::RevocationStale`] (L2: 300 s).
    WarnAfter(i64),
    /// Older than this many milliseconds, or no source configured: `revocation_stale` (L3: 60 s).
    DenyAfter(i64),
}

impl Freshness {
    /// Profile L2: warn after 300 s.
    pub const L2: Freshness = Freshness::WarnAfter(300_000);
    /// Profile L3: deny after 60 s.
    pub const L3: Freshness = Freshness::DenyAfter(60_000);
}

/// Something a verifier noticed that did not stop it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// Revocation data was older than the profile's warning threshold (or absent).
    RevocationStale {
        /// Age of the data in milliseconds (`None`: no source configured).
        age_ms: Option<i64>,
        /// The threshold.
        max_age_ms: i64,
    },
}

impl Warning {
    /// The stable code of the warning (`revocation_stale`).
    pub fn code(&self) -> Code {
        match self {
            Warning::RevocationStale { .. } => Code::RevocationStale,
        }
    }
}

/// Checks freshness at `now`. `Ok(Some(w))`: proceed with a warning.
pub fn check_freshness(
    source: Option<&dyn RevocationSource>,
    freshness: Freshness,
    now: Timestamp,
) -> Result<Option<Warning>> {
    let (max, deny) = match freshness {
        Freshness::Any => return Ok(None),
        Freshness::WarnAfter(m) => (m, false),
        Freshness::DenyAfter(m) => (m, true),
    };
    let age = source.map(|s| {
        now.unix_millis()
            .saturating_sub(s.last_refreshed().unix_millis())
    });
    let stale = match age {
        None => true,
        Some(a) => a > max,
    };
    if !stale {
        return Ok(None);
    }
    if deny {
        return Err(Error::new(
            Code::RevocationStale,
            match age {
                Some(a) => format!("revocation data is {a} ms old; the profile allows {max} ms"),
                None => "the profile requires revocation data and no source is configured".into(),
            },
        ));
    }
    Ok(Some(Warning::RevocationStale {
        age_ms: age,
        max_age_ms: max,
    }))
}

/// An in-memory revocation list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevocationList {
    passports: HashSet<String>,
    agents: HashSet<String>,
    keys: HashMap<String, HashSet<String>>,
    refreshed: Option<Timestamp>,
}

/// Version number of the revocation list format.
pub const REVOCATION_LIST_VERSION: u64 = 1;

impl RevocationList {
    /// An empty list, current as of `as_of`.
    pub fn new(as_of: Timestamp) -> Self {
        RevocationList {
            refreshed: Some(as_of),
            ..Default::default()
        }
    }

    /// Revokes a passport.
    pub fn revoke_passport(&mut self, passport_id: impl Into<String>) {
        self.passports.insert(passport_id.into());
    }

    /// Revokes every passport of an agent.
    pub fn revoke_agent(&mut self, agent_id: impl Into<String>) {
        self.agents.insert(agent_id.into());
    }

    /// Revokes an issuer key.
    pub fn revoke_issuer_key(&mut self, issuer_id: impl Into<String>, key_id: impl Into<String>) {
        self.keys
            .entry(issuer_id.into())
            .or_default()
            .insert(key_id.into());
    }

    /// Records a refresh at `at`.
    pub fn set_refreshed(&mut self, at: Timestamp) {
        self.refreshed = Some(at);
    }

    /// Reads the JSON format. `origin` prefixes error details. Failure: `trust_store_invalid`.
    pub fn from_json(bytes: &[u8], origin: &str) -> Result<RevocationList> {
        let bad = |path: &str, what: &str| {
            Error::new(Code::TrustStoreInvalid, format!("{origin}: {path}: {what}"))
        };
        let v = json::parse_strict(bytes).map_err(|e| {
            Error::new(
                Code::TrustStoreInvalid,
                format!("{origin}: {}: {}", e.code(), e.detail()),
            )
        })?;
        let o = v
            .as_object()
            .ok_or_else(|| bad("$", "expected an object"))?;
        if let Some(k) = o.keys().find(|k| {
            !matches!(
                k.as_str(),
                "version" | "as_of" | "passports" | "agents" | "issuer_keys"
            )
        }) {
            return Err(bad("$", &format!("unknown member {k:?}")));
        }
        if o.get("version").and_then(Value::as_u64) != Some(REVOCATION_LIST_VERSION) {
            return Err(bad("version", "must be the integer 1"));
        }
        let as_of = match o.get("as_of") {
            Some(Value::String(s)) => {
                Timestamp::parse_rfc3339(s).map_err(|e| bad("as_of", e.detail()))?
            }
            _ => return Err(bad("as_of", "required RFC 3339 timestamp string")),
        };
        let mut list = RevocationList::new(as_of);
        for (field, set) in [
            ("passports", &mut list.passports),
            ("agents", &mut list.agents),
        ] {
            match o.get(field) {
                None => {}
                Some(Value::Array(a)) => {
                    for (i, x) in a.iter().enumerate() {
                        match x {
                            Value::String(s) if !s.is_empty() => {
                                set.insert(s.clone());
                            }
                            _ => {
                                return Err(bad(
                                    &format!("{field}[{i}]"),
                                    "expected a non-empty string",
                                ))
                            }
                        }
                    }
                }
                Some(_) => return Err(bad(field, "expected an array of strings")),
            }
        }
        match o.get("issuer_keys") {
            None => {}
            Some(Value::Array(a)) => {
                for (i, x) in a.iter().enumerate() {
                    let path = format!("issuer_keys[{i}]");
                    let ko = x
                        .as_object()
                        .ok_or_else(|| bad(&path, "expected {\"issuer\": ..., \"kid\": ...}"))?;
                    if ko.len() != 2 {
                        return Err(bad(&path, "expected exactly the members issuer and kid"));
                    }
                    match (ko.get("issuer"), ko.get("kid")) {
                        (Some(Value::String(iss)), Some(Value::String(kid)))
                            if !iss.is_empty() && !kid.is_empty() =>
                        {
                            list.revoke_issuer_key(iss.clone(), kid.clone());
                        }
                        _ => {
                            return Err(bad(
                                &path,
                                "expected non-empty strings \"issuer\" and \"kid\"",
                            ))
                        }
                    }
                }
            }
            Some(_) => return Err(bad("issuer_keys", "expected an array")),
        }
        Ok(list)
    }

    /// Writes the JSON format deterministically (entries sorted).
    pub fn to_json(&self) -> Result<String> {
        let mut p: Vec<&String> = self.passports.iter().collect();
        p.sort();
        let mut a: Vec<&String> = self.agents.iter().collect();
        a.sort();
        let mut k: Vec<(&String, &String)> = self
            .keys
            .iter()
            .flat_map(|(i, ks)| ks.iter().map(move |kid| (i, kid)))
            .collect();
        k.sort();
        let mut m = Map::new();
        m.insert("version".into(), json!(REVOCATION_LIST_VERSION));
        m.insert(
            "as_of".into(),
            json!(self
                .refreshed
                .unwrap_or(Timestamp::from_unix_millis(0))
                .to_rfc3339_millis()?),
        );
        m.insert("passports".into(), json!(p));
        m.insert("agents".into(), json!(a));
        m.insert(
            "issuer_keys".into(),
            Value::Array(
                k.iter()
                    .map(|(i, kid)| json!({"issuer": i, "kid": kid}))
                    .collect(),
            ),
        );
        let mut s = serde_json::to_string_pretty(&Value::Object(m))
            .map_err(|e| Error::new(Code::InvalidArgument, e.to_string()))?;
        s.push('\n');
        Ok(s)
    }
}

impl RevocationSource for RevocationList {
    fn passport_revoked(&self, passport_id: &str) -> bool {
        self.passports.contains(passport_id)
    }
    fn agent_revoked(&self, agent_id: &str) -> bool {
        self.agents.contains(agent_id)
    }
    fn issuer_key_revoked(&self, issuer_id: &str, key_id: &str) -> bool {
        self.keys
            .get(issuer_id)
            .is_some_and(|ks| ks.contains(key_id))
    }
    fn last_refreshed(&self) -> Timestamp {
        self.refreshed
            .unwrap_or(Timestamp::from_unix_millis(i64::MIN))
    }
}
