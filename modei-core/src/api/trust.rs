//! Trust store, issuer policy, revocation list and the passport verifier, as handles built from
//! JSON. See `docs/api.md` § Trust.

use super::{
    invalid, member, obj, opt_bool, opt_i64, opt_str, opt_str_list, parse_json, time_json,
};
use crate::envelope::Tier;
use crate::error::{Code, Error, Result};
use crate::passport::{Verifier, VerifierOptions};
use crate::revocation::{Freshness, RevocationList, RevocationSource};
use crate::time::Timestamp;
use crate::trust::{Policy, TrustStore};
use serde_json::{Map, Value};
use std::sync::{Arc, RwLock};

/// A trust store (the `docs/trust-store.md` file format), buildable in code.
#[derive(Debug, Clone, Default)]
pub struct TrustStoreHandle {
    store: TrustStore,
}

impl TrustStoreHandle {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// From the file's JSON text; `origin` (a path) prefixes error details.
    pub fn from_json(bytes: &[u8], origin: &str) -> Result<Self> {
        Ok(TrustStoreHandle {
            store: TrustStore::from_json(bytes, origin)?,
        })
    }

    /// From the file's JSON value.
    pub fn from_value(v: &Value, origin: &str) -> Result<Self> {
        Self::from_json(&crate::canonical::canonicalize(v), origin)
    }

    /// Adds an issuer given in the file's `issuers[]` item shape
    /// (`{"id","type","name"?,"tier"?,"keys":[{"kid","jwk"|"public_key",...}]}`).
    /// Failure: `trust_store_invalid` (duplicate id, bad key...).
    pub fn add_issuer(&mut self, issuer: &Value) -> Result<()> {
        obj(issuer, "issuer")?;
        let mut doc = parse_json(self.store.to_json()?.as_bytes())?;
        match doc.get_mut("issuers") {
            Some(Value::Array(a)) => a.push(issuer.clone()),
            _ => {
                return Err(Error::new(
                    Code::TrustStoreInvalid,
                    "trust store document without issuers",
                ))
            }
        }
        self.store = TrustStore::from_json(&crate::canonical::canonicalize(&doc), "issuer")?;
        Ok(())
    }

    /// Removes an issuer; whether it was present.
    pub fn remove_issuer(&mut self, id: &str) -> bool {
        self.store.remove(id).is_some()
    }

    /// The ids of the issuers held, sorted.
    pub fn issuer_ids(&self) -> Vec<String> {
        let v = self.to_value().unwrap_or(Value::Null);
        v.get("issuers")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|i| i.get("id").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Number of issuers.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }

    /// The file text (deterministic: sorted, JWK keys, two-space indentation, final newline).
    pub fn to_json(&self) -> Result<String> {
        self.store.to_json()
    }

    /// The file as a JSON value.
    pub fn to_value(&self) -> Result<Value> {
        parse_json(self.store.to_json()?.as_bytes())
    }

    /// The core store.
    pub fn store(&self) -> &TrustStore {
        &self.store
    }
}

/// A revocation list that can change while verifiers use it (shared, lock-protected).
#[derive(Debug)]
pub struct RevocationHandle {
    list: RwLock<RevocationList>,
}

impl RevocationHandle {
    /// An empty list current as of `as_of`.
    pub fn new(as_of: Timestamp) -> Self {
        RevocationHandle {
            list: RwLock::new(RevocationList::new(as_of)),
        }
    }

    /// From the revocation list JSON text (`docs/trust-store.md` § Revocation list).
    pub fn from_json(bytes: &[u8], origin: &str) -> Result<Self> {
        Ok(RevocationHandle {
            list: RwLock::new(RevocationList::from_json(bytes, origin)?),
        })
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, RevocationList> {
        self.list.write().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, RevocationList> {
        self.list.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Revokes a passport id.
    pub fn revoke_passport(&self, id: &str) {
        self.write().revoke_passport(id);
    }

    /// Revokes every passport of an agent.
    pub fn revoke_agent(&self, id: &str) {
        self.write().revoke_agent(id);
    }

    /// Revokes an issuer key.
    pub fn revoke_issuer_key(&self, issuer_id: &str, kid: &str) {
        self.write().revoke_issuer_key(issuer_id, kid);
    }

    /// Records a refresh.
    pub fn set_refreshed(&self, at: Timestamp) {
        self.write().set_refreshed(at);
    }

    /// The list's JSON text (sorted).
    pub fn to_json(&self) -> Result<String> {
        self.read().to_json()
    }
}

impl RevocationSource for RevocationHandle {
    fn passport_revoked(&self, passport_id: &str) -> bool {
        self.read().passport_revoked(passport_id)
    }
    fn agent_revoked(&self, agent_id: &str) -> bool {
        self.read().agent_revoked(agent_id)
    }
    fn issuer_key_revoked(&self, issuer_id: &str, key_id: &str) -> bool {
        self.read().issuer_key_revoked(issuer_id, key_id)
    }
    fn last_refreshed(&self) -> Timestamp {
        self.read().last_refreshed()
    }
}

fn tier(s: &str) -> Result<Tier> {
    Tier::parse(s).ok_or_else(|| {
        invalid(format!(
            "min_tier: unknown tier {s:?} (L0, L0.5, L1, L2, L3)"
        ))
    })
}

/// The issuer policy from `{"allow_self_issued": bool, "min_tier": "L1", "allowed_issuers": [..]}`
/// (every member optional; defaults as in `docs/trust-store.md` § Policy).
pub fn policy_from(v: &Value) -> Result<Policy> {
    let mut p = Policy::new();
    if let Some(b) = opt_bool(v, "allow_self_issued")? {
        p = p.allow_self_issued(b);
    }
    if let Some(t) = opt_str(v, "min_tier")? {
        p = p.min_tier(tier(t)?);
    }
    if member(v, "allowed_issuers").is_some() {
        p = p.allow_only(opt_str_list(v, "allowed_issuers")?);
    }
    Ok(p)
}

/// Freshness from `"any"`, `"L2"`, `"L3"`, `{"warn_after_ms": n}` or `{"deny_after_ms": n}`.
pub fn freshness_from(v: &Value) -> Result<Freshness> {
    match v {
        Value::Null => Ok(Freshness::Any),
        Value::String(s) => match s.as_str() {
            "any" | "L1" => Ok(Freshness::Any),
            "L2" => Ok(Freshness::L2),
            "L3" => Ok(Freshness::L3),
            other => Err(invalid(format!(
                "revocation_freshness: unknown profile {other:?}"
            ))),
        },
        Value::Object(_) => {
            if let Some(n) = opt_i64(v, "warn_after_ms")? {
                Ok(Freshness::WarnAfter(n))
            } else if let Some(n) = opt_i64(v, "deny_after_ms")? {
                Ok(Freshness::DenyAfter(n))
            } else {
                Err(invalid(
                    "revocation_freshness: expected warn_after_ms or deny_after_ms",
                ))
            }
        }
        _ => Err(invalid(
            "revocation_freshness: expected a string or an object",
        )),
    }
}

/// Verifier options from `{"leeway_ms", "gate_id", "accept_eddsa", "max_token_bytes",
/// "max_envelope_bytes", "revocation_freshness"}` (every member optional).
pub fn verifier_options_from(v: &Value) -> Result<VerifierOptions> {
    let mut o = VerifierOptions::default();
    if let Some(n) = opt_i64(v, "leeway_ms")? {
        o.leeway_ms = n;
    }
    if let Some(s) = opt_str(v, "gate_id")? {
        o.gate_id = Some(s.to_owned());
    }
    if let Some(b) = opt_bool(v, "accept_eddsa")? {
        o.accept_eddsa = b;
    }
    if let Some(n) = opt_i64(v, "max_token_bytes")? {
        o.max_token_bytes = usize::try_from(n).map_err(|_| invalid("max_token_bytes: negative"))?;
    }
    if let Some(n) = opt_i64(v, "max_envelope_bytes")? {
        o.max_envelope_bytes =
            usize::try_from(n).map_err(|_| invalid("max_envelope_bytes: negative"))?;
    }
    if let Some(f) = member(v, "revocation_freshness") {
        o.revocation_freshness = freshness_from(f)?;
    }
    Ok(o)
}

/// The passport verifier: trust store + policy + options + optional revocation source.
/// `Send + Sync`; `verify` takes `&self`.
#[derive(Clone, Debug)]
pub struct VerifierHandle {
    verifier: Verifier,
}

impl VerifierHandle {
    /// `config`: `{"policy": {...}, "options": {...}}` plus, optionally, `"trust_store"` (the
    /// file's JSON value; used when `trust` is `None`) and `"revocation"` (a revocation list
    /// JSON value; used when `revocation` is `None`). Policy and option members may also be
    /// given at the top level (`{"allow_self_issued": true, "gate_id": "g1"}`).
    pub fn new(
        config: &Value,
        trust: Option<&TrustStoreHandle>,
        revocation: Option<Arc<dyn RevocationSource>>,
    ) -> Result<Self> {
        let config = if config.is_null() {
            &Value::Object(Map::new())
        } else {
            config
        };
        obj(config, "verifier config")?;
        let store = match (trust, member(config, "trust_store")) {
            (Some(t), _) => t.store.clone(),
            (None, Some(v)) => {
                TrustStore::from_json(&crate::canonical::canonicalize(v), "trust_store")?
            }
            (None, None) => TrustStore::new(),
        };
        let policy = policy_from(member(config, "policy").unwrap_or(config))?;
        let options = verifier_options_from(member(config, "options").unwrap_or(config))?;
        let mut verifier = Verifier::new(store, policy).with_options(options);
        let revocation = match (revocation, member(config, "revocation")) {
            (Some(r), _) => Some(r),
            (None, Some(v)) => Some(Arc::new(RevocationHandle::from_json(
                &crate::canonical::canonicalize(v),
                "revocation",
            )?) as Arc<dyn RevocationSource>),
            (None, None) => None,
        };
        if let Some(r) = revocation {
            verifier = verifier.with_revocation(r);
        }
        Ok(VerifierHandle { verifier })
    }

    /// Verifies a passport of either wire form (compact JWT, or envelope wire pair JSON text)
    /// at `now`. Returns the passport JSON (`docs/api.md` § Passport object).
    pub fn verify(&self, input: &[u8], now: Timestamp) -> Result<Value> {
        let p = self.verifier.verify(input, now)?;
        Ok(super::passport::passport_json(&p))
    }

    /// Same, returning the core passport (for bindings that build their own objects).
    pub fn verify_passport(
        &self,
        input: &[u8],
        now: Timestamp,
    ) -> Result<crate::passport::Passport> {
        self.verifier.verify(input, now)
    }

    /// The core verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// `{"policy": {...}, "options": {...}, "issuers": n, "revocation": bool}`.
    pub fn describe(&self) -> Value {
        let p = self.verifier.policy();
        let o = self.verifier.options();
        let mut pol = Map::new();
        pol.insert("allow_self_issued".into(), Value::Bool(p.allow_self_issued));
        pol.insert("min_tier".into(), Value::String(p.min_tier.as_str().into()));
        pol.insert(
            "allowed_issuers".into(),
            match &p.allowed_issuers {
                None => Value::Null,
                Some(s) => {
                    let mut v: Vec<&String> = s.iter().collect();
                    v.sort();
                    Value::Array(v.into_iter().map(|x| Value::String(x.clone())).collect())
                }
            },
        );
        let mut opt = Map::new();
        opt.insert("leeway_ms".into(), o.leeway_ms.into());
        opt.insert(
            "gate_id".into(),
            o.gate_id.clone().map(Value::String).unwrap_or(Value::Null),
        );
        opt.insert("accept_eddsa".into(), Value::Bool(o.accept_eddsa));
        opt.insert("max_token_bytes".into(), o.max_token_bytes.into());
        opt.insert("max_envelope_bytes".into(), o.max_envelope_bytes.into());
        opt.insert(
            "revocation_freshness".into(),
            match o.revocation_freshness {
                Freshness::Any => Value::String("any".into()),
                Freshness::WarnAfter(n) => serde_json::json!({"warn_after_ms": n}),
                Freshness::DenyAfter(n) => serde_json::json!({"deny_after_ms": n}),
            },
        );
        let mut m = Map::new();
        m.insert("policy".into(), Value::Object(pol));
        m.insert("options".into(), Value::Object(opt));
        m.insert("issuers".into(), self.verifier.trust_store().len().into());
        let _ = time_json;
        Value::Object(m)
    }
}
