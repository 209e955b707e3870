//! Gate configuration: the Rust value ([`GateConfig`]) and its documented JSON form
//! ([`GateConfig::from_json`], format in `docs/gate.md`).

use super::anonymous::AnonymousPolicy;
use super::holds::HoldNotifier;
use crate::attestation::{AttestationLog, MemoryLog};
use crate::catalog::{Catalog, CatalogSet};
use crate::constraints::Enforcer;
use crate::envelope::Tier;
use crate::error::{Code, Error, Result};
use crate::json;
use crate::keys::{PublicKey, SigningKey};
use crate::revocation::{Freshness, RevocationList, RevocationSource};
use crate::state::{MemoryStateStore, StateStore};
use crate::time::{Clock, Timestamp};
use crate::trust::{Policy, TrustStore};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// The gate's trust profile (a gate-level minimum; the same passport works at every level).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Profile {
    /// Baseline: signature, trust, validity, permission, constraints. Nonces are checked when
    /// present; revocation data may be of any age.
    L1,
    /// Standard: every request carries a nonce and a timestamp within the replay window (5
    /// minutes); a PoP, when presented, must verify; revocation data older than 300 s verifies
    /// with a warning.
    L2,
    /// Strict: L2 plus a proof of possession on every request (timestamp within 60 s), and
    /// revocation data no older than 60 s (`revocation_stale` otherwise). Requires a gate
    /// signing key (every decision is attested).
    L3,
}

impl Profile {
    /// `L1`, `L2` or `L3`.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::L1 => "L1",
            Profile::L2 => "L2",
            Profile::L3 => "L3",
        }
    }

    /// Parses `L1`, `L2`, `L3`.
    pub fn parse(s: &str) -> Option<Profile> {
        match s {
            "L1" => Some(Profile::L1),
            "L2" => Some(Profile::L2),
            "L3" => Some(Profile::L3),
            _ => None,
        }
    }

    /// The revocation freshness this profile requires.
    pub fn freshness(self) -> Freshness {
        match self {
            Profile::L1 => Freshness::Any,
            Profile::L2 => Freshness::L2,
            Profile::L3 => Freshness::L3,
        }
    }

    /// How far a request timestamp may be from the gate's clock, and how long a nonce is
    /// remembered: 5 minutes (L1, L2), 60 s (L3).
    pub fn replay_window_ms(self) -> i64 {
        match self {
            Profile::L1 | Profile::L2 => 300_000,
            Profile::L3 => 60_000,
        }
    }
}

/// Everything a [`super::Gate`] needs. Build with [`GateConfig::new`] and the setters, or read
/// the JSON form with [`GateConfig::from_json`].
pub struct GateConfig {
    /// The gate id (audience, catalog pins, attestation chains).
    pub gate_id: String,
    /// The trust profile.
    pub profile: Profile,
    /// Trusted issuers and their keys.
    pub trust_store: TrustStore,
    /// Which issuers are accepted, minimum tier.
    pub policy: Policy,
    /// What is revoked and how fresh that is.
    pub revocation: Option<Arc<dyn RevocationSource>>,
    /// The gate's attestation signing key and its key id (`None`: decisions are not attested;
    /// not allowed at L3).
    pub signing_key: Option<(SigningKey, String)>,
    /// Published catalogs; when set, every passport must pin one of them.
    pub catalogs: Option<CatalogSet>,
    /// Anonymous access (disabled by default).
    pub anonymous: AnonymousPolicy,
    /// Operator keys trusted to approve or deny holds, by key id.
    pub operators: HashMap<String, PublicKey>,
    /// The clock used by [`super::Gate::check`].
    pub clock: Arc<dyn Clock>,
    /// Shared counters (default: an in-memory store).
    pub state: Arc<dyn StateStore>,
    /// Where attestations go (default: in memory). Only used with a signing key.
    pub log: Box<dyn AttestationLog + Send>,
    /// Constraint parser/evaluator: custom evaluators, PII detector, CEL cache.
    pub enforcer: Enforcer,
    /// Delivers new holds to a person.
    pub notifier: Option<Arc<dyn HoldNotifier>>,
    /// Clock-skew allowance for passport times, in ms (default 30 000).
    pub leeway_ms: i64,
    /// How long a hold stays open, in ms (default 300 000).
    pub hold_ttl_ms: i64,
    /// Verified passports kept for the warm path (default 4096).
    pub cache_capacity: usize,
    /// Open holds kept at once (default 10 000); a new hold beyond it blocks with
    /// `state_unavailable`.
    pub max_holds: usize,
    /// Sign a checkpoint of the passport's chain with every attested decision (default true).
    pub checkpoints: bool,
    /// Take attestation chain heads from the state store (`next_sequence` / `commit_head`)
    /// instead of the log (default false). Replicas sharing one store (Redis) then extend the
    /// same chains: sequences stay contiguous across replicas and each replica's log holds its
    /// segment (the log must accept [`AttestationLog::append_shared`]).
    pub shared_chains: bool,
    /// A Supravision heartbeat (for `core:safety:fail_closed`) recorded in the state store when
    /// the gate is built: the JSON form's `heartbeat`. Recorded then, not when the JSON is read,
    /// so it lands in the store the gate ends up with (a Redis store set after parsing too).
    pub heartbeat: Option<Timestamp>,
}

impl fmt::Debug for GateConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GateConfig")
            .field("gate_id", &self.gate_id)
            .field("profile", &self.profile)
            .field("policy", &self.policy)
            .field("signing_key_id", &self.signing_key.as_ref().map(|k| &k.1))
            .field("catalogs", &self.catalogs.is_some())
            .field("anonymous", &self.anonymous)
            .field("operators", &self.operators.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl GateConfig {
    /// A configuration with the defaults: profile L1, policy accepting self-issued passports
    /// at L1 and not at L2/L3 (set [`GateConfig::policy`] to change), no revocation source,
    /// no signing key, no catalog, anonymous access off, the system clock, an in-memory state
    /// store and log.
    pub fn new(gate_id: impl Into<String>, profile: Profile, trust_store: TrustStore) -> Self {
        GateConfig {
            gate_id: gate_id.into(),
            profile,
            trust_store,
            policy: Policy::new().allow_self_issued(profile == Profile::L1),
            revocation: None,
            signing_key: None,
            catalogs: None,
            anonymous: AnonymousPolicy::default(),
            operators: HashMap::new(),
            clock: default_clock(),
            state: Arc::new(MemoryStateStore::new()),
            log: Box::new(MemoryLog::new()),
            enforcer: Enforcer::new(),
            notifier: None,
            leeway_ms: 30_000,
            hold_ttl_ms: 300_000,
            cache_capacity: 4096,
            max_holds: 10_000,
            checkpoints: true,
            shared_chains: false,
            heartbeat: None,
        }
    }

    /// Sets the signing key and its key id.
    pub fn with_signing_key(mut self, key: SigningKey, key_id: impl Into<String>) -> Self {
        self.signing_key = Some((key, key_id.into()));
        self
    }

    /// Sets the policy.
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the revocation source.
    pub fn with_revocation(mut self, source: Arc<dyn RevocationSource>) -> Self {
        self.revocation = Some(source);
        self
    }

    /// Sets the catalogs.
    pub fn with_catalogs(mut self, catalogs: CatalogSet) -> Self {
        self.catalogs = Some(catalogs);
        self
    }

    /// Sets the anonymous policy.
    pub fn with_anonymous(mut self, policy: AnonymousPolicy) -> Self {
        self.anonymous = policy;
        self
    }

    /// Trusts an operator key for approvals.
    pub fn with_operator(mut self, key_id: impl Into<String>, key: PublicKey) -> Self {
        self.operators.insert(key_id.into(), key);
        self
    }

    /// Sets the clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the state store.
    pub fn with_state(mut self, state: Arc<dyn StateStore>) -> Self {
        self.state = state;
        self
    }

    /// Sets the attestation log.
    pub fn with_log(mut self, log: Box<dyn AttestationLog + Send>) -> Self {
        self.log = log;
        self
    }

    /// Sets the hold notifier.
    pub fn with_notifier(mut self, notifier: Arc<dyn HoldNotifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// Reads the JSON form (see `docs/gate.md`). Every member is inline (the core does no
    /// I/O; the CLI replaces file paths by their contents first). Errors are
    /// `invalid_argument` (or the code of the embedded document: `trust_store_invalid`,
    /// `catalog_*`, `key_malformed`, `constraint_invalid`) and name `origin` and the member.
    pub fn from_json(bytes: &[u8], origin: &str) -> Result<GateConfig> {
        let v = json::parse_strict(bytes).map_err(|e| e.at(origin))?;
        Self::from_value(&v, origin)
    }

    /// [`GateConfig::from_json`] on a parsed value.
    pub fn from_value(v: &Value, origin: &str) -> Result<GateConfig> {
        let bad = |member: &str, msg: String| {
            Error::new(Code::InvalidArgument, format!("{origin}: {member}: {msg}"))
        };
        let obj = v
            .as_object()
            .ok_or_else(|| bad("(root)", "a gate config is a JSON object".into()))?;
        for k in obj.keys() {
            if !CONFIG_MEMBERS.contains(&k.as_str()) {
                return Err(bad(k, "unknown member".into()));
            }
        }
        let s = |m: &str| -> Result<Option<&str>> {
            match obj.get(m) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(bad(m, "must be a string".into())),
            }
        };
        let uint = |m: &str| -> Result<Option<u64>> {
            match obj.get(m) {
                None | Some(Value::Null) => Ok(None),
                Some(x) => x
                    .as_u64()
                    .map(Some)
                    .ok_or_else(|| bad(m, "must be a non-negative integer".into())),
            }
        };
        let gate_id = s("gate_id")?.ok_or_else(|| bad("gate_id", "is required".into()))?;
        let profile = match s("profile")? {
            None => Profile::L1,
            Some(p) => Profile::parse(p)
                .ok_or_else(|| bad("profile", format!("{p:?} is not L1, L2 or L3")))?,
        };
        let trust_store = match obj.get("trust_store") {
            None | Some(Value::Null) => TrustStore::new(),
            Some(t) => {
                TrustStore::from_json(t.to_string().as_bytes(), &format!("{origin}: trust_store"))?
            }
        };
        let mut cfg = GateConfig::new(gate_id, profile, trust_store);
        if let Some(p) = obj.get("policy") {
            cfg.policy = parse_policy(p, profile).map_err(|m| bad("policy", m))?;
        }
        if let Some(r) = obj.get("revocation") {
            if !r.is_null() {
                let list = RevocationList::from_json(
                    r.to_string().as_bytes(),
                    &format!("{origin}: revocation"),
                )?;
                cfg.revocation = Some(Arc::new(list));
            }
        }
        if let Some(k) = obj.get("signing_key") {
            if !k.is_null() {
                let (key, kid) =
                    parse_signing_key(k).map_err(|e| e.at(&format!("{origin}: signing_key")))?;
                cfg.signing_key = Some((key, kid));
            }
        }
        if let Some(c) = obj.get("catalogs") {
            if !c.is_null() {
                let arr = c
                    .as_array()
                    .ok_or_else(|| bad("catalogs", "must be a list of signed catalogs".into()))?;
                let mut set = CatalogSet::new(gate_id);
                for (i, item) in arr.iter().enumerate() {
                    let at = format!("{origin}: catalogs[{i}]");
                    let cat =
                        Catalog::from_json(item.to_string().as_bytes()).map_err(|e| e.at(&at))?;
                    // A catalog this gate publishes is signed by its own key: check it.
                    if let Some((key, kid)) = &cfg.signing_key {
                        let pk = key.public_key();
                        let keys =
                            |g: &str, k: &str| (g == gate_id && k == kid).then(|| pk.clone());
                        cat.verify(&keys).map_err(|e| e.at(&at))?;
                    }
                    set.insert(cat).map_err(|e| e.at(&at))?;
                }
                cfg.catalogs = Some(set);
            }
        }
        if let Some(a) = obj.get("anonymous") {
            if !a.is_null() {
                cfg.anonymous = AnonymousPolicy::from_value(a)
                    .map_err(|e| e.at(&format!("{origin}: anonymous")))?;
            }
        }
        if let Some(ops) = obj.get("operators") {
            let arr = ops
                .as_array()
                .ok_or_else(|| bad("operators", "must be a list of {key_id, public_key}".into()))?;
            for (i, op) in arr.iter().enumerate() {
                let m = format!("operators[{i}]");
                let o = op
                    .as_object()
                    .ok_or_else(|| bad(&m, "must be an object".into()))?;
                let kid = o
                    .get("key_id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad(&m, "key_id must be a string".into()))?;
                let pk = match (o.get("public_key"), o.get("jwk")) {
                    (Some(Value::String(p)), None) => PublicKey::parse_any(p),
                    (None, Some(j)) => PublicKey::from_jwk(j),
                    _ => return Err(bad(&m, "needs exactly one of public_key, jwk".into())),
                }
                .map_err(|e| e.at(&format!("{origin}: {m}")))?;
                if o.keys()
                    .any(|k| !matches!(k.as_str(), "key_id" | "public_key" | "jwk"))
                {
                    return Err(bad(&m, "unknown member".into()));
                }
                cfg.operators.insert(kid.to_owned(), pk);
            }
        }
        if let Some(n) = uint("leeway_seconds")? {
            cfg.leeway_ms = secs_ms(n).ok_or_else(|| bad("leeway_seconds", "too large".into()))?;
        }
        if let Some(n) = uint("hold_ttl_seconds")? {
            cfg.hold_ttl_ms = secs_ms(n)
                .filter(|m| *m > 0)
                .ok_or_else(|| bad("hold_ttl_seconds", "must be 1..2^31".into()))?;
        }
        if let Some(n) = uint("cache_capacity")? {
            cfg.cache_capacity = usize::try_from(n).unwrap_or(usize::MAX).min(1 << 20);
        }
        if let Some(n) = uint("max_holds")? {
            cfg.max_holds = usize::try_from(n).unwrap_or(usize::MAX).min(1 << 20);
        }
        match obj.get("checkpoints") {
            None | Some(Value::Null) => {}
            Some(Value::Bool(b)) => cfg.checkpoints = *b,
            Some(_) => return Err(bad("checkpoints", "must be true or false".into())),
        }
        match obj.get("shared_chains") {
            None | Some(Value::Null) => {}
            Some(Value::Bool(b)) => cfg.shared_chains = *b,
            Some(_) => return Err(bad("shared_chains", "must be true or false".into())),
        }
        match obj.get("heartbeat") {
            None | Some(Value::Null) => {}
            Some(Value::String(t)) => {
                let at = Timestamp::parse_rfc3339(t)
                    .map_err(|e| e.at(&format!("{origin}: heartbeat")))?;
                cfg.heartbeat = Some(at);
            }
            Some(_) => return Err(bad("heartbeat", "must be an RFC 3339 string".into())),
        }
        Ok(cfg)
    }
}

/// The members of the JSON form.
pub const CONFIG_MEMBERS: &[&str] = &[
    "gate_id",
    "profile",
    "trust_store",
    "policy",
    "revocation",
    "signing_key",
    "catalogs",
    "anonymous",
    "operators",
    "leeway_seconds",
    "hold_ttl_seconds",
    "cache_capacity",
    "max_holds",
    "checkpoints",
    "shared_chains",
    "heartbeat",
];

fn secs_ms(n: u64) -> Option<i64> {
    if n > (1 << 31) {
        return None;
    }
    i64::try_from(n).ok().map(|s| s * 1000)
}

fn parse_policy(v: &Value, profile: Profile) -> std::result::Result<Policy, String> {
    let o = v.as_object().ok_or("must be an object")?;
    let mut p = Policy::new().allow_self_issued(profile == Profile::L1);
    for (k, x) in o {
        match k.as_str() {
            "allow_self_issued" => {
                p = p.allow_self_issued(
                    x.as_bool()
                        .ok_or("allow_self_issued must be true or false")?,
                )
            }
            "min_tier" => {
                let t = x
                    .as_str()
                    .and_then(Tier::parse)
                    .ok_or("min_tier must be L0, L0.5, L1, L2 or L3")?;
                p = p.min_tier(t);
            }
            "allowed_issuers" => {
                if x.is_null() {
                    continue;
                }
                let arr = x
                    .as_array()
                    .ok_or("allowed_issuers must be a list of strings")?;
                let mut ids = Vec::with_capacity(arr.len());
                for i in arr {
                    ids.push(
                        i.as_str()
                            .ok_or("allowed_issuers must be a list of strings")?
                            .to_owned(),
                    );
                }
                p = p.allow_only(ids);
            }
            other => return Err(format!("unknown member {other:?}")),
        }
    }
    Ok(p)
}

/// `{"seed_hex"|"seed_base64url"|"seed_base64"|"jwk"|"pem": ..., "key_id": ...}`; without
/// `key_id`, the RFC 7638 thumbprint of the public key.
fn parse_signing_key(v: &Value) -> Result<(SigningKey, String)> {
    let bad = |m: &str| Error::new(Code::InvalidArgument, m.to_owned());
    let o: &Map<String, Value> = v.as_object().ok_or_else(|| bad("must be an object"))?;
    let mut key = None;
    let mut kid = None;
    for (k, x) in o {
        let text = || {
            x.as_str()
                .ok_or_else(|| bad(&format!("{k} must be a string")))
        };
        let parsed = match k.as_str() {
            "seed_hex" => SigningKey::from_seed_hex(text()?)?,
            "seed_base64url" => SigningKey::from_seed_base64url(text()?)?,
            "seed_base64" => SigningKey::from_seed_base64(text()?)?,
            "pem" => SigningKey::from_pkcs8_pem(text()?)?,
            "jwk" => SigningKey::from_jwk(x)?,
            "key_id" => {
                kid = Some(text()?.to_owned());
                continue;
            }
            other => return Err(bad(&format!("unknown member {other:?}"))),
        };
        if key.replace(parsed).is_some() {
            return Err(bad(
                "give exactly one of seed_hex, seed_base64url, seed_base64, pem, jwk",
            ));
        }
    }
    let key =
        key.ok_or_else(|| bad("give one of seed_hex, seed_base64url, seed_base64, pem, jwk"))?;
    let kid = kid.unwrap_or_else(|| key.public_key().thumbprint());
    Ok((key, kid))
}

/// The system clock where there is one.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn default_clock() -> Arc<dyn Clock> {
    Arc::new(crate::time::SystemClock)
}

/// `wasm32-unknown-unknown` has no system clock; the WASM binding always installs one backed by
/// `Date.now()`. Should a host forget, the Unix epoch makes every passport "not yet valid", so a
/// missing clock fails closed rather than guessing.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn default_clock() -> Arc<dyn Clock> {
    Arc::new(crate::time::FixedClock(Timestamp::from_unix_millis(0)))
}
