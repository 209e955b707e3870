//! The gate: hand it a passport and a request, get `allow`, `request_hold` or `block` in
//! microseconds with no network; every decision becomes a signed, hash-linked attestation.
//!
//! One pipeline, in this order (the first failure blocks with its code; `docs/gate.md` has
//! the full table):
//!
//! 0. request shape and target canonicalisation (`request_invalid`);
//! 1. no passport at all → the anonymous policy (never for an invalid passport);
//! 2. passport verification, issuer trust and minimum tier, validity window, revocation with
//!    the profile's freshness, audience / gate binding: one [`Verifier`] call on first sight,
//!    and on the warm path (cache keyed by the exact bytes) the time-dependent
//!    checks again: trust-store key window and revocation, validity window, revocation list;
//! 3. catalog pin, when catalogs are configured (`catalog_pin_unknown`,
//!    `catalog_pin_incompatible`; never a fallback to the current catalog);
//! 4. permission match (exact, `prefix:*`, `*`; most specific wins), and the pinned catalog
//!    must list the action with a `min_trust_level` the passport meets;
//! 5. replay and proof of possession (nonce + timestamp window, PoP signature, nonce unique);
//! 6. an operator approval, when the request carries one (resolves a hold instead of 7);
//! 7. constraints (catalog × passport merged), then one atomic state commit;
//! 8. attestation: sequence and previous hash taken under the chain's lock, together with
//!    the state commit, so sequences never repeat or skip.
//!
//! A dry run runs all of it and changes nothing: no counter, no nonce, no hold, no record.

mod anonymous;
mod cache;
mod config;
mod constraint_sets;
mod decision;
mod holds;
mod matching;
mod request;

pub use anonymous::{AnonymousPolicy, DEFAULT_UPGRADE_MESSAGE};
pub use config::{GateConfig, Profile, CONFIG_MEMBERS};
pub use decision::{decision_serde, EvaluationRecord, GateDecision, Recorded, Upgrade};
pub use holds::{Hold, HoldNotifier, HoldOutcome};
pub use matching::{best_match, PermPattern};
pub use request::{
    pop_signing_input, request_digest, sign_pop, Approval, ApprovalDecision, GateRequest,
    APPROVAL_PURPOSE, MAX_FIELD_BYTES, MAX_METADATA_BYTES, POP_PURPOSE,
};

use crate::attestation::{
    Attestation, AttestationDraft, AttestationLog, Attestor, ChainHead, LinkHash,
};
use crate::catalog::{Catalog, CatalogPin, CatalogSet};
use crate::constraints::{
    merge, ConstraintSet, Decision, Enforcer, EnforcerSettings, EvalContext, PassportInfo,
};
use crate::envelope::Tier;
use crate::error::{Code, Error, Result};
use crate::keys::{PublicKey, Signature};
use crate::passport::{Passport, Verifier, VerifierOptions};
use crate::revocation::{check_freshness, RevocationSource, Warning};
use crate::state::{NextInChain, StateStore};
use crate::target::Target;
use crate::time::{Clock, Timestamp};
use crate::trust::IssuerKind;
use cache::PassportCache;
use constraint_sets::{ConstraintSets, SharedSet};
use holds::HoldTable;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};

/// The chain that records decisions on passports that did not verify.
pub const UNVERIFIED_CHAIN: &str = "unverified";
/// The agent id recorded for unverified and anonymous requests.
pub const UNKNOWN_AGENT: &str = "unknown";
/// The reason of a hold denied by an operator.
pub const REASON_APPROVAL_DENIED: &str = "approval_denied"; // = Code::ApprovalDenied

const STRIPES: usize = 64;
/// Distinct prepared constraint sets kept for sharing between passports.
const SHARED_SETS: usize = 1024;

/// Constraints ready to evaluate for one (passport, permission): two shared pointers, cheap to
/// hand out per check.
#[derive(Clone)]
struct Prepared {
    /// The constraints, shared with every passport carrying the same ones.
    shared: Arc<SharedSet>,
    catalog_pin: Option<Arc<CatalogPin>>,
}

/// (Index of the permission in the passport, index of the catalog entry the action falls in.)
type PreparedKey = (usize, Option<usize>);

/// Prepared constraints, or the error preparing them (cached either way).
type PreparedResult = std::result::Result<Prepared, Error>;

/// Most passports are checked under one permission and catalog entry: that one is kept inline
/// in the cache entry (no allocation of its own to make on a first sight and free when the
/// entry retires), up to 63 others in a list.
#[derive(Default)]
struct PreparedSlots {
    first: Option<(PreparedKey, PreparedResult)>,
    more: Vec<(PreparedKey, PreparedResult)>,
}

impl PreparedSlots {
    fn get(&self, key: PreparedKey) -> Option<&PreparedResult> {
        match &self.first {
            Some((k, r)) if *k == key => Some(r),
            _ => self.more.iter().find(|(k, _)| *k == key).map(|(_, r)| r),
        }
    }

    fn put(&mut self, key: PreparedKey, r: PreparedResult) {
        if self.first.is_none() {
            self.first = Some((key, r));
        } else if self.more.len() < 63 {
            self.more.push((key, r));
        }
    }
}

/// A verified passport on the warm path.
struct Cached {
    passport: Passport,
    /// Prepared constraints (or the error preparing them) by passport permission and catalog
    /// entry.
    prepared: Mutex<PreparedSlots>,
}

struct Attesting {
    attestor: Attestor,
    log: Mutex<Box<dyn AttestationLog + Send>>,
    checkpoints: bool,
    /// Chain heads come from the state store (replicas share chains).
    shared: bool,
}

/// A gate. `Send + Sync`: share one across threads (`Arc<Gate>`).
pub struct Gate {
    gate_id: String,
    profile: Profile,
    verifier: Verifier,
    revocation: Option<Arc<dyn RevocationSource>>,
    catalogs: Option<CatalogSet>,
    anonymous: AnonymousPolicy,
    anon_set: ConstraintSet,
    anon_effective: Arc<Map<String, Value>>,
    operators: HashMap<String, PublicKey>,
    clock: Arc<dyn Clock>,
    state: Arc<dyn StateStore>,
    attesting: Option<Attesting>,
    enforcer: Enforcer,
    notifier: Option<Arc<dyn HoldNotifier>>,
    leeway_ms: i64,
    hold_ttl_ms: i64,
    max_holds: usize,
    cache: PassportCache<Arc<Cached>>,
    sets: ConstraintSets,
    holds: HoldTable,
    stripes: Vec<Mutex<()>>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("gate_id", &self.gate_id)
            .field("profile", &self.profile)
            .field("attesting", &self.attesting.is_some())
            .finish_non_exhaustive()
    }
}

/// What the pipeline decided, before it is recorded.
struct Verdict {
    decision: Decision,
    recorded: Recorded,
    reason: Option<String>,
    detail: Option<String>,
    evaluations: Vec<EvaluationRecord>,
    hold: Option<Hold>,
}

impl Verdict {
    fn block(code: &str, detail: impl Into<String>) -> Verdict {
        Verdict {
            decision: Decision::Block,
            recorded: Recorded::Block,
            reason: Some(code.to_owned()),
            detail: Some(detail.into()),
            evaluations: Vec::new(),
            hold: None,
        }
    }
    fn err(e: &Error) -> Verdict {
        Verdict::block(e.code().as_str(), e.detail())
    }
}

/// Who a decision is about.
struct Subject<'a> {
    chain: &'a str,
    agent_id: &'a str,
    passport_id: Option<&'a str>,
}

/// The decision under construction.
struct Ctx<'r> {
    req: &'r GateRequest,
    now: Timestamp,
    dry_run: bool,
    target: Option<Target>,
    digest: String,
    warnings: Vec<String>,
    cached: bool,
    /// The canonical target of a resolved hold (when `target` is not parsed again).
    stored_target: Option<String>,
    /// With `shared_chains`: the chain head read together with the state commit, so the
    /// attestation needs no read of its own.
    head_read: Option<NextInChain>,
}

impl Ctx<'_> {
    fn canonical_target(&self) -> Option<String> {
        match &self.target {
            Some(t) => Some(t.as_str().to_owned()),
            None => self.stored_target.clone(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn tier_level(t: Tier) -> u8 {
    match t {
        Tier::L0 | Tier::L0_5 => 0,
        Tier::L1 => 1,
        Tier::L2 => 2,
        Tier::L3 => 3,
    }
}

impl Gate {
    /// Builds a gate. Fails (`invalid_argument`) on an L3 profile without a signing key, a
    /// bad gate id or key id, or a catalog set for another gate.
    pub fn new(config: GateConfig) -> Result<Gate> {
        let GateConfig {
            gate_id,
            profile,
            trust_store,
            policy,
            revocation,
            signing_key,
            catalogs,
            anonymous,
            operators,
            clock,
            state,
            log,
            mut enforcer,
            notifier,
            leeway_ms,
            hold_ttl_ms,
            cache_capacity,
            max_holds,
            checkpoints,
            shared_chains,
            heartbeat,
        } = config;
        if gate_id.is_empty() || gate_id.len() > 256 || gate_id.chars().any(char::is_control) {
            return Err(Error::new(
                Code::InvalidArgument,
                "gate_id must be 1..=256 bytes without control characters",
            ));
        }
        if profile == Profile::L3 && signing_key.is_none() {
            return Err(Error::new(
                Code::InvalidArgument,
                "profile L3 requires a gate signing key (every decision is attested)",
            ));
        }
        if !(0..=3_600_000).contains(&leeway_ms) || hold_ttl_ms <= 0 {
            return Err(Error::new(
                Code::InvalidArgument,
                "leeway must be 0..=3600 s and the hold ttl positive",
            ));
        }
        if let Some(c) = &catalogs {
            if let Some(cur) = c.current() {
                if cur.gate_id() != gate_id {
                    return Err(Error::new(
                        Code::InvalidArgument,
                        format!(
                            "the catalogs are for gate {:?}, not {gate_id:?}",
                            cur.gate_id()
                        ),
                    ));
                }
            }
        }
        let options = VerifierOptions {
            leeway_ms,
            gate_id: Some(gate_id.clone()),
            revocation_freshness: profile.freshness(),
            ..VerifierOptions::default()
        };
        let mut verifier = Verifier::new(trust_store, policy).with_options(options);
        if let Some(r) = &revocation {
            verifier = verifier.with_revocation(r.clone());
        }
        let attesting = match signing_key {
            None => None,
            Some((key, kid)) => Some(Attesting {
                attestor: Attestor::new(&gate_id, &kid, key)?,
                log: Mutex::new(log),
                checkpoints,
                shared: shared_chains,
            }),
        };
        enforcer.set_settings(EnforcerSettings { hold_ttl_ms });
        let anon_effective = anonymous.constraints();
        let anon_set = enforcer.parse(&anon_effective)?;
        if let Some(at) = heartbeat {
            state.record_heartbeat(&gate_id, at)?;
        }
        Ok(Gate {
            gate_id,
            profile,
            verifier,
            revocation,
            catalogs,
            anonymous,
            anon_set,
            anon_effective: Arc::new(anon_effective),
            operators,
            clock,
            state,
            attesting,
            enforcer,
            notifier,
            leeway_ms,
            hold_ttl_ms,
            max_holds: max_holds.max(1),
            cache: PassportCache::new(cache_capacity),
            sets: ConstraintSets::new(SHARED_SETS),
            holds: HoldTable::default(),
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        })
    }

    /// The gate id.
    pub fn gate_id(&self) -> &str {
        &self.gate_id
    }

    /// The profile.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The attestation key id and public key, if the gate signs.
    pub fn attestation_key(&self) -> Option<(&str, PublicKey)> {
        self.attesting
            .as_ref()
            .map(|a| (a.attestor.key_id(), a.attestor.public_key()))
    }

    /// Runs `f` on the attestation log (under its lock).
    pub fn with_log<R>(&self, f: impl FnOnce(&mut dyn AttestationLog) -> R) -> Option<R> {
        self.attesting.as_ref().map(|a| {
            let mut g = lock(&a.log);
            f(&mut **g)
        })
    }

    /// Records a Supravision heartbeat (read by `core:safety:fail_closed`).
    pub fn heartbeat(&self, at: Timestamp) -> Result<()> {
        self.state.record_heartbeat(&self.gate_id, at)
    }

    /// The open holds, oldest first.
    pub fn pending_holds(&self) -> Vec<Hold> {
        self.holds.all()
    }

    /// The number of passports in the warm cache.
    pub fn cached_passports(&self) -> usize {
        self.cache.len()
    }

    /// Decides `req` at the gate clock's now.
    pub fn check(&self, req: &GateRequest) -> GateDecision {
        self.run(req, self.clock.now(), false)
    }

    /// Decides `req` at `now`.
    pub fn check_at(&self, req: &GateRequest, now: Timestamp) -> GateDecision {
        self.run(req, now, false)
    }

    /// Runs the whole pipeline at the clock's now without changing any state and without
    /// attesting.
    pub fn dry_run(&self, req: &GateRequest) -> GateDecision {
        self.run(req, self.clock.now(), true)
    }

    /// [`Gate::dry_run`] at `now`.
    pub fn dry_run_at(&self, req: &GateRequest, now: Timestamp) -> GateDecision {
        self.run(req, now, true)
    }

    /// An operator denies a hold out of band (without the agent re-presenting the request):
    /// verifies the approval (`decision: denied`), releases the reserved spend and records a
    /// `denied` attestation. Errors: `approval_invalid`, `hold_not_found`.
    pub fn deny_hold(&self, approval: &Approval, now: Timestamp) -> Result<GateDecision> {
        if approval.decision != ApprovalDecision::Denied {
            return Err(Error::new(
                Code::ApprovalInvalid,
                "deny_hold takes a denial; present an approval with the request",
            ));
        }
        self.verify_approval(approval, now)?;
        let hold = self.find_hold(&approval.hold_id)?.ok_or_else(|| {
            Error::new(
                Code::HoldNotFound,
                format!("no open hold {:?}", approval.hold_id),
            )
        })?;
        if hold.request_digest != approval.request_digest {
            return Err(Error::new(
                Code::ApprovalInvalid,
                "the approval names another request digest",
            ));
        }
        let subject = Subject {
            chain: &hold.passport_id,
            agent_id: &hold.agent_id,
            passport_id: Some(&hold.passport_id),
        };
        let _g = lock(self.stripe(subject.chain));
        self.forget_hold(&hold.hold_id);
        self.state
            .release_hold(&hold.passport_id, &hold.hold_id, now)?;
        let verdict = Verdict {
            decision: Decision::Block,
            recorded: Recorded::Denied,
            reason: Some(REASON_APPROVAL_DENIED.into()),
            detail: Some(format!(
                "hold {} denied by operator {}",
                hold.hold_id, approval.operator_key_id
            )),
            evaluations: Vec::new(),
            hold: None,
        };
        let req = GateRequest::new(hold.action.clone());
        let ctx = Ctx {
            req: &req,
            now,
            dry_run: false,
            target: None,
            digest: hold.request_digest.clone(),
            warnings: Vec::new(),
            cached: false,
            stored_target: hold.target.clone(),
            head_read: None,
        };
        let d = self.finish_locked(
            &ctx,
            &subject,
            verdict,
            None,
            Some(hold.permission.clone()),
            None,
        );
        drop(_g);
        if let Some(n) = &self.notifier {
            n.on_resolved(&hold, HoldOutcome::Denied);
        }
        Ok(d)
    }

    /// Releases every hold that lapsed by `now` (an automatic deny: each is recorded as a
    /// `denied` attestation with reason `hold_expired`). Returns them.
    pub fn expire_holds(&self, now: Timestamp) -> Vec<Hold> {
        let expired = self.holds.take_expired(now);
        for h in &expired {
            self.settle_expired(h, now);
        }
        expired
    }

    fn settle_expired(&self, h: &Hold, now: Timestamp) {
        let _g = lock(self.stripe(&h.passport_id));
        // The store purges lapsed reservations on its own; this makes it explicit.
        let _ = self.state.release_hold(&h.passport_id, &h.hold_id, now);
        let _ = self.state.remove_hold_record(&h.hold_id);
        let subject = Subject {
            chain: &h.passport_id,
            agent_id: &h.agent_id,
            passport_id: Some(&h.passport_id),
        };
        let req = GateRequest::new(h.action.clone());
        let ctx = Ctx {
            req: &req,
            now,
            dry_run: false,
            target: None,
            digest: h.request_digest.clone(),
            warnings: Vec::new(),
            cached: false,
            stored_target: h.target.clone(),
            head_read: None,
        };
        let v = Verdict {
            decision: Decision::Block,
            recorded: Recorded::Denied,
            reason: Some(Code::HoldExpired.as_str().into()),
            detail: Some(format!("hold {} expired unanswered", h.hold_id)),
            evaluations: Vec::new(),
            hold: None,
        };
        self.finish_locked(&ctx, &subject, v, None, Some(h.permission.clone()), None);
        drop(_g);
        if let Some(n) = &self.notifier {
            n.on_resolved(h, HoldOutcome::Expired);
        }
    }

    fn stripe(&self, chain: &str) -> &Mutex<()> {
        let mut h = DefaultHasher::new();
        chain.hash(&mut h);
        let i = (h.finish() as usize) % STRIPES;
        &self.stripes[i]
    }

    fn verify_approval(&self, a: &Approval, now: Timestamp) -> Result<()> {
        let key = self.operators.get(&a.operator_key_id).ok_or_else(|| {
            Error::new(
                Code::ApprovalInvalid,
                format!(
                    "operator key {:?} is not trusted by this gate",
                    a.operator_key_id
                ),
            )
        })?;
        a.verify(key)?;
        if a.timestamp > now.plus_millis(self.leeway_ms).unix_millis() {
            return Err(Error::new(
                Code::ApprovalInvalid,
                "the approval is dated in the future",
            ));
        }
        Ok(())
    }

    // ------------------------------------------------------------------------------------
    // The pipeline
    // ------------------------------------------------------------------------------------

    fn run(&self, req: &GateRequest, now: Timestamp, dry_run: bool) -> GateDecision {
        let mut ctx = Ctx {
            req,
            now,
            dry_run,
            target: None,
            digest: String::new(),
            warnings: Vec::new(),
            cached: false,
            stored_target: None,
            head_read: None,
        };
        let unverified = || Subject {
            chain: UNVERIFIED_CHAIN,
            agent_id: UNKNOWN_AGENT,
            passport_id: None,
        };
        // 0. Request shape.
        let shape = req.validate().and_then(|_| match &req.target {
            Some(t) => {
                let t = Target::parse(t)?;
                if t.as_str().len() > crate::attestation::MAX_TARGET_BYTES {
                    return Err(Error::new(
                        Code::RequestInvalid,
                        format!(
                            "the canonical target is longer than {} bytes",
                            crate::attestation::MAX_TARGET_BYTES
                        ),
                    ));
                }
                Ok(Some(t))
            }
            None => Ok(None),
        });
        match shape {
            Ok(t) => ctx.target = t,
            Err(e) => {
                ctx.digest = self.digest(&ctx, None);
                // A malformed request has no trustworthy subject: the unverified chain.
                let s = unverified();
                return self.finish(&ctx, &s, Verdict::err(&e), None, None);
            }
        }
        match &req.passport {
            None => self.run_anonymous(&mut ctx),
            Some(p) => match self.verified(p, now) {
                Err(e) => {
                    ctx.digest = self.digest(&ctx, None);
                    self.finish(&ctx, &unverified(), Verdict::err(&e), None, None)
                }
                Ok((cached, warm, warnings)) => {
                    ctx.cached = warm;
                    for w in &warnings {
                        ctx.warnings.push(w.code().as_str().to_owned());
                    }
                    self.run_passport(&mut ctx, &cached)
                }
            },
        }
    }

    fn digest(&self, ctx: &Ctx<'_>, passport_id: Option<&str>) -> String {
        request_digest(
            &self.gate_id,
            passport_id,
            &ctx.req.action,
            ctx.target.as_ref().map(Target::as_str),
            ctx.req.cost_cents,
            &ctx.req.metadata,
        )
    }

    fn run_anonymous(&self, ctx: &mut Ctx<'_>) -> GateDecision {
        ctx.digest = self.digest(ctx, None);
        let upgrade = Upgrade {
            message: self.anonymous.message().to_owned(),
            url: self.anonymous.upgrade_url.clone(),
        };
        let client = ctx.req.client_id.clone();
        let chain = match &client {
            Some(c) => format!("anon:{c}"),
            None => UNVERIFIED_CHAIN.to_owned(),
        };
        let subject = Subject {
            chain: &chain,
            agent_id: UNKNOWN_AGENT,
            passport_id: client.as_ref().map(|_| chain.as_str()),
        };
        let verdict = if !self.anonymous.enabled {
            Verdict::block(
                Code::AnonymousNotAllowed.as_str(),
                "no passport was presented and this gate does not allow anonymous access",
            )
        } else if client.is_none() {
            Verdict::block(
                Code::RequestInvalid.as_str(),
                "anonymous requests need a client_id (the host's key for anonymous rate limits)",
            )
        } else if let Err(why) = self.anonymous.admits(&ctx.req.action) {
            Verdict::block(Code::AnonymousNotAllowed.as_str(), why)
        } else {
            let mut ectx = EvalContext::new(&ctx.req.action, ctx.now);
            ectx.target = ctx.target.take();
            ectx.cost_cents = ctx.req.cost_cents;
            ectx.metadata = Cow::Borrowed(&ctx.req.metadata);
            ectx.passport = PassportInfo {
                passport_id: &chain,
                agent_id: UNKNOWN_AGENT,
                ..PassportInfo::default()
            };
            let _g = (!ctx.dry_run && self.attesting.is_some()).then(|| lock(self.stripe(&chain)));
            let v = self.enforce(ctx, &self.anon_set, &ectx, &chain);
            ctx.target = ectx.target.take();
            let mut d =
                self.finish_locked(ctx, &subject, v, Some(&self.anon_effective), None, None);
            d.upgrade = Some(upgrade);
            return d;
        };
        let mut d = self.finish(ctx, &subject, verdict, Some(&self.anon_effective), None);
        d.upgrade = Some(upgrade);
        d
    }

    fn run_passport(&self, ctx: &mut Ctx<'_>, cached: &Cached) -> GateDecision {
        let p = &cached.passport;
        ctx.digest = self.digest(ctx, Some(&p.passport_id));
        let subject = Subject {
            chain: &p.passport_id,
            agent_id: &p.agent_id,
            passport_id: Some(&p.passport_id),
        };
        // Time-dependent re-checks happen in `verified`. 3. Catalog pin.
        let catalog = match self.check_pin(p, ctx.now) {
            Ok(c) => c,
            Err(e) => return self.finish(ctx, &subject, Verdict::err(&e), None, None),
        };
        // 4. Permission.
        let keys = p.permissions.iter().map(|x| x.permission_key.as_str());
        let Some(idx) = best_match(keys, &ctx.req.action) else {
            let v = Verdict::block(
                Code::PermissionNotGranted.as_str(),
                format!(
                    "the passport grants no permission covering {:?}",
                    ctx.req.action
                ),
            );
            return self.finish(ctx, &subject, v, None, None);
        };
        let Some(perm) = p.permissions.get(idx) else {
            return self.finish(
                ctx,
                &subject,
                Verdict::block(Code::PermissionNotGranted.as_str(), "no permission"),
                None,
                None,
            );
        };
        let prepared = match self.prepared(cached, idx, catalog, &ctx.req.action) {
            Ok(x) => x,
            Err(e) => {
                return self.finish(
                    ctx,
                    &subject,
                    Verdict::err(&e),
                    None,
                    Some(perm.permission_key.clone()),
                )
            }
        };
        let eff = Some(&prepared.shared.effective);
        let perm_key = Some(perm.permission_key.clone());
        // 5. Replay and proof of possession.
        if let Err(e) = self.check_replay(ctx, p) {
            return self.finish(ctx, &subject, Verdict::err(&e), eff, perm_key);
        }
        // 6. Approval of an earlier hold.
        if let Some(a) = &ctx.req.approval {
            let _g = (!ctx.dry_run && self.attesting.is_some())
                .then(|| lock(self.stripe(subject.chain)));
            let (v, resolved) = self.apply_approval(ctx, p, a);
            let d = self.finish_locked(
                ctx,
                &subject,
                v,
                eff,
                perm_key,
                prepared.catalog_pin.as_deref(),
            );
            drop(_g);
            if let (Some(n), Some((h, o))) = (&self.notifier, resolved) {
                n.on_resolved(&h, o);
            }
            return d;
        }
        // 7. Constraints and the atomic commit; 8. attestation under the chain's lock.
        let heartbeat = match prepared.shared.has_fail_closed {
            false => None,
            true => match self.state.last_heartbeat(&self.gate_id) {
                Ok(h) => h,
                Err(e) => return self.finish(ctx, &subject, Verdict::err(&e), eff, perm_key),
            },
        };
        // The target moves into the evaluation context and back (no copy).
        let mut ectx = EvalContext {
            action: &ctx.req.action,
            target: ctx.target.take(),
            cost_cents: ctx.req.cost_cents,
            metadata: Cow::Borrowed(&ctx.req.metadata),
            now: ctx.now,
            heartbeat,
            passport: PassportInfo {
                passport_id: &p.passport_id,
                agent_id: &p.agent_id,
                issuer: &p.root_issuer.id,
                tier: p.tier.as_str(),
                permission: &perm.permission_key,
            },
            hold_id: None,
        };
        let guard =
            (!ctx.dry_run && self.attesting.is_some()).then(|| lock(self.stripe(subject.chain)));
        let mut v = self.enforce(ctx, &prepared.shared.set, &ectx, subject.chain);
        ctx.target = ectx.target.take();
        if v.decision == Decision::RequestHold {
            if let Some(hid) = v.hold.as_ref().map(|h| h.hold_id.clone()) {
                let hold = Hold {
                    hold_id: hid.clone(),
                    request_digest: ctx.digest.clone(),
                    passport_id: p.passport_id.clone(),
                    agent_id: p.agent_id.clone(),
                    action: ctx.req.action.clone(),
                    target: ctx.target.as_ref().map(|t| t.as_str().to_owned()),
                    permission: perm.permission_key.clone(),
                    reserved_cents: ctx.req.cost_cents.max(0),
                    reason: v.reason.clone().unwrap_or_default(),
                    detail: v.detail.clone().unwrap_or_default(),
                    created_at: ctx.now,
                    expires_at: ctx.now.plus_millis(self.hold_ttl_ms),
                };
                if !ctx.dry_run {
                    let (ok, expired) = self.holds.insert(hold.clone(), self.max_holds, ctx.now);
                    for h in &expired {
                        let _ = self.state.release_hold(&h.passport_id, &h.hold_id, ctx.now);
                        let _ = self.state.remove_hold_record(&h.hold_id);
                    }
                    // Shared stores keep the record so any replica can take the approval. A
                    // record that cannot be kept is a hold nobody could approve: fail closed.
                    let unrecorded = ok
                        && self
                            .state
                            .put_hold_record(&hid, &hold.to_record(), ctx.now, hold.expires_at)
                            .is_err();
                    if unrecorded {
                        self.holds.remove(&hid);
                    }
                    if !ok || unrecorded {
                        let _ = self.state.release_hold(&p.passport_id, &hid, ctx.now);
                        v = Verdict {
                            evaluations: v.evaluations,
                            ..Verdict::block(
                                Code::StateUnavailable.as_str(),
                                "too many open holds; failing closed",
                            )
                        };
                    } else {
                        v.hold = Some(hold);
                    }
                } else {
                    v.hold = Some(hold);
                }
            }
        }
        let d = self.finish_locked(
            ctx,
            &subject,
            v,
            eff,
            perm_key,
            prepared.catalog_pin.as_deref(),
        );
        drop(guard);
        if d.decision == Decision::RequestHold && !ctx.dry_run {
            if let (Some(n), Some(id)) = (&self.notifier, &d.hold_id) {
                if let Some(h) = self.holds.get(id) {
                    n.on_hold(&h);
                }
            }
        }
        d
    }

    /// Step 2: A verified passport: from the warm cache (re-running the time-dependent checks) or
    /// from a full verification. Returns it, whether it was warm, and the current warnings.
    fn verified(
        &self,
        token: &Arc<str>,
        now: Timestamp,
    ) -> Result<(Arc<Cached>, bool, Vec<Warning>)> {
        let wire = token.as_bytes().trim_ascii();
        let miss = match self.cache.get(wire) {
            Ok(c) => {
                let warnings = self.recheck(&c.passport, now)?;
                return Ok((c, true, warnings));
            }
            Err(miss) => miss,
        };
        // A JWT passport keeps the request's own bytes (no copy of the token): they become the
        // cache key below.
        let passport = self.verifier.verify_shared(token, now)?;
        let warnings = passport.warnings.clone();
        let cacheable = passport.lineage.is_empty();
        let entry = Arc::new(Cached {
            passport,
            prepared: Mutex::default(),
        });
        if cacheable {
            let lee = self.leeway_ms;
            // A JWT passport holds exactly the wire bytes: share them as the key.
            let key = match entry.passport.signed_shared() {
                s if **s == *wire => s.clone(),
                _ => Arc::from(wire),
            };
            self.cache.insert(miss, key, entry.clone(), |v| {
                now.plus_millis(-lee) >= v.passport.expires_at
            });
        }
        Ok((entry, false, warnings))
    }

    /// The checks of a cached passport that depend on time or on mutable sources: the root
    /// issuer key's window and revocation in the trust store, the passport's validity
    /// window, the revocation source (passport, agent, issuer key) and its freshness.
    fn recheck(&self, p: &Passport, now: Timestamp) -> Result<Vec<Warning>> {
        let trust = self.verifier.trust_store();
        let root = &p.root_issuer;
        if root.kind == IssuerKind::SelfIssued {
            if let Some(k) = trust.issuer(&root.id).and_then(|i| i.key("self")) {
                k.check(&root.id, p.issued_at, now)?;
            }
        } else {
            trust.key_for(&root.id, &root.key_id, p.issued_at, now)?;
        }
        let lee = self.leeway_ms;
        if now.plus_millis(-lee) >= p.expires_at {
            return Err(Error::new(
                Code::PassportExpired,
                format!(
                    "passport: expired at {} (unix seconds)",
                    p.expires_at.unix_seconds()
                ),
            ));
        }
        if p.not_before.is_some_and(|n| n > now.plus_millis(lee))
            || p.issued_at > now.plus_millis(lee)
        {
            return Err(Error::new(
                Code::PassportNotYetValid,
                "passport: not valid yet",
            ));
        }
        let mut warnings = Vec::new();
        if let Some(src) = self.revocation.as_deref() {
            if src.passport_revoked(&p.passport_id) {
                return Err(Error::new(
                    Code::PassportRevoked,
                    format!("passport {:?} is revoked", p.passport_id),
                ));
            }
            if src.agent_revoked(&p.agent_id) {
                return Err(Error::new(
                    Code::PassportRevoked,
                    format!("agent {:?} is revoked", p.agent_id),
                ));
            }
            if src.issuer_key_revoked(&root.id, &root.key_id) {
                return Err(Error::new(
                    Code::IssuerKeyRevoked,
                    format!("issuer key {:?}/{:?} is revoked", root.id, root.key_id),
                ));
            }
        }
        if let Some(w) = check_freshness(self.revocation.as_deref(), self.profile.freshness(), now)?
        {
            warnings.push(w);
        }
        Ok(warnings)
    }

    /// Step 3: The catalog the passport pins (when catalogs are configured).
    fn check_pin(&self, p: &Passport, now: Timestamp) -> Result<Option<&Catalog>> {
        let Some(set) = &self.catalogs else {
            return Ok(None);
        };
        let Some(pin) = &p.catalog else {
            return Err(Error::new(
                Code::CatalogPinUnknown,
                "the passport pins no catalog and this gate publishes one; reissue it against a catalog version",
            ));
        };
        let version = pin
            .version
            .and_then(|v| u64::try_from(v).ok())
            .filter(|v| *v > 0)
            .ok_or_else(|| {
                Error::new(
                    Code::CatalogPinUnknown,
                    "the passport's catalog pin has no version",
                )
            })?;
        let hash = pin
            .content_hash
            .as_deref()
            .map(|h| h.strip_prefix("sha256:").unwrap_or(h));
        let gate = pin.gate_id.as_deref().unwrap_or(&self.gate_id);
        set.check_pin_at(now, gate, version, hash).map(Some)
    }

    /// Step 4: The prepared constraints for the passport's permission `perm` (an index into
    /// its permissions) under the catalog entry `action` falls in. Cached on the passport
    /// entry by both: one passport permission such as `search:*` can cover several catalog
    /// entries with different terms, and each action is held to its own.
    fn prepared(
        &self,
        cached: &Cached,
        perm: usize,
        catalog: Option<&Catalog>,
        action: &str,
    ) -> Result<Prepared> {
        let p = &cached.passport;
        let entry = match catalog {
            None => None,
            Some(cat) => Some((cat, catalog_entry(cat, p, action)?)),
        };
        let key = (perm, entry.map(|(_, i)| i));
        if let Some(r) = lock(&cached.prepared).get(key) {
            return r.clone();
        }
        let r = self.prepare(p, perm, entry);
        let mut g = lock(&cached.prepared);
        if g.get(key).is_none() {
            g.put(key, r.clone());
        }
        r
    }

    fn prepare(
        &self,
        p: &Passport,
        perm: usize,
        entry: Option<(&Catalog, usize)>,
    ) -> Result<Prepared> {
        let perm = p
            .permissions
            .get(perm)
            .ok_or_else(|| Error::new(Code::PermissionNotGranted, "no such permission"))?;
        let catalog_entry = match entry {
            None => None,
            Some((cat, i)) => {
                let cp = cat.permissions().get(i).ok_or_else(|| {
                    Error::new(Code::PermissionNotGranted, "no such catalog permission")
                })?;
                Some((cp, cat.pin(), i))
            }
        };
        let key = catalog_entry.as_ref().map(|(_, pin, i)| (pin, *i));
        // The shared set: by identity, else by content hash (a miss carries the hash to keep
        // the new set under).
        let found = self.sets.by_identity(&perm.constraints, key).map(Ok);
        let shared = match found.unwrap_or_else(|| {
            let hash = self.sets.hash(&perm.constraints, key);
            self.sets.get(hash, &perm.constraints, key).ok_or(hash)
        }) {
            Ok(s) => s,
            Err(hash) => {
                let effective = match &catalog_entry {
                    None => perm.constraints.clone(),
                    Some((cp, _, _)) => Arc::new(merge(&cp.constraints, &perm.constraints)?),
                };
                let set = self.enforcer.parse(&effective)?;
                let entry = catalog_entry.as_ref().map(|(_, pin, i)| (pin.clone(), *i));
                let s = Arc::new(SharedSet::new(set, effective, entry, &perm.constraints));
                self.sets.insert(hash, s.clone());
                s
            }
        };
        Ok(Prepared {
            shared,
            catalog_pin: catalog_entry.map(|(_, pin, _)| Arc::new(pin)),
        })
    }

    /// Step 5: Nonce, timestamp window, PoP, nonce uniqueness.
    fn check_replay(&self, ctx: &Ctx<'_>, p: &Passport) -> Result<()> {
        let req = ctx.req;
        let strict = self.profile != Profile::L1;
        let window = self.profile.replay_window_ms();
        if strict && (req.nonce.is_none() || req.timestamp.is_none()) {
            return Err(Error::new(
                Code::RequestInvalid,
                format!(
                    "profile {} requires a request nonce and timestamp",
                    self.profile.as_str()
                ),
            ));
        }
        if let Some(ts) = req.timestamp {
            let skew = ctx.now.unix_millis().saturating_sub(ts).saturating_abs();
            if skew > window {
                return Err(Error::new(
                    Code::ReplayDetected,
                    format!("request timestamp is {skew} ms from the gate clock; the window is {window} ms"),
                ));
            }
        }
        match &req.pop {
            None if self.profile == Profile::L3 => {
                return Err(Error::new(
                    Code::PopRequired,
                    "profile L3 requires a proof of possession",
                ));
            }
            None => {}
            Some(sig) => {
                let (Some(nonce), Some(ts)) = (&req.nonce, req.timestamp) else {
                    return Err(Error::new(
                        Code::PopInvalid,
                        "a proof of possession needs the request nonce and timestamp",
                    ));
                };
                let key = p
                    .agent_public_key()
                    .map_err(|e| Error::new(Code::PopInvalid, e.detail().to_owned()))?;
                let sig = Signature::from_base64url(sig)
                    .map_err(|e| Error::new(Code::PopInvalid, format!("pop: {}", e.detail())))?;
                let input = pop_signing_input(
                    &self.gate_id,
                    &req.action,
                    ctx.target.as_ref().map(Target::as_str),
                    req.cost_cents,
                    nonce,
                    ts,
                    &ctx.digest,
                );
                key.verify_strict(&input, &sig).map_err(|_| {
                    Error::new(
                        Code::PopInvalid,
                        "the proof of possession does not verify under the passport's agent key",
                    )
                })?;
            }
        }
        if let Some(nonce) = &req.nonce {
            let scope = format!("nonce:{}:{}", self.gate_id, p.passport_id);
            // A dry run asks with an expiry of `now`, which leaves nothing live behind.
            let until = if ctx.dry_run {
                ctx.now
            } else {
                ctx.now.plus_millis(window)
            };
            if !self.state.check_nonce(&scope, nonce, ctx.now, until)? {
                return Err(Error::new(
                    Code::ReplayDetected,
                    format!("nonce {nonce:?} was already used within the replay window"),
                ));
            }
        }
        Ok(())
    }

    /// Step 6: Resolves the hold the request's approval names.
    fn apply_approval(
        &self,
        ctx: &Ctx<'_>,
        p: &Passport,
        a: &Approval,
    ) -> (Verdict, Option<(Hold, HoldOutcome)>) {
        if let Err(e) = self.verify_approval(a, ctx.now) {
            return (Verdict::err(&e), None);
        }
        let found = match self.find_hold(&a.hold_id) {
            Ok(h) => h,
            Err(e) => return (Verdict::err(&e), None),
        };
        let Some(hold) = found else {
            return (
                Verdict::block(
                    Code::HoldNotFound.as_str(),
                    format!("no open hold {:?}", a.hold_id),
                ),
                None,
            );
        };
        if hold.passport_id != p.passport_id
            || hold.request_digest != ctx.digest
            || a.request_digest != ctx.digest
        {
            return (
                Verdict::block(
                    Code::ApprovalInvalid.as_str(),
                    "the approval and the hold are for another request",
                ),
                None,
            );
        }
        if hold.expires_at <= ctx.now {
            if !ctx.dry_run {
                self.forget_hold(&hold.hold_id);
                let _ = self
                    .state
                    .release_hold(&hold.passport_id, &hold.hold_id, ctx.now);
            }
            let v = Verdict::block(
                Code::HoldExpired.as_str(),
                format!("hold {} expired before it was approved", hold.hold_id),
            );
            return (v, (!ctx.dry_run).then_some((hold, HoldOutcome::Expired)));
        }
        match a.decision {
            ApprovalDecision::Denied => {
                if !ctx.dry_run {
                    self.forget_hold(&hold.hold_id);
                    if let Err(e) =
                        self.state
                            .release_hold(&hold.passport_id, &hold.hold_id, ctx.now)
                    {
                        return (Verdict::err(&e), None);
                    }
                }
                let v = Verdict {
                    recorded: Recorded::Denied,
                    ..Verdict::block(
                        REASON_APPROVAL_DENIED,
                        format!(
                            "hold {} denied by operator {}",
                            hold.hold_id, a.operator_key_id
                        ),
                    )
                };
                (v, (!ctx.dry_run).then_some((hold, HoldOutcome::Denied)))
            }
            ApprovalDecision::Approved => {
                if !ctx.dry_run {
                    match self
                        .state
                        .commit_hold(&hold.passport_id, &hold.hold_id, ctx.now)
                    {
                        Ok(true) => {}
                        Ok(false) => {
                            self.forget_hold(&hold.hold_id);
                            return (
                                Verdict::block(
                                    Code::HoldExpired.as_str(),
                                    "the hold's reservation has lapsed",
                                ),
                                Some((hold, HoldOutcome::Expired)),
                            );
                        }
                        Err(e) => return (Verdict::err(&e), None),
                    }
                    self.forget_hold(&hold.hold_id);
                }
                let v = Verdict {
                    decision: Decision::Allow,
                    recorded: Recorded::Approved,
                    reason: None,
                    detail: Some(format!(
                        "hold {} approved by operator {}",
                        hold.hold_id, a.operator_key_id
                    )),
                    evaluations: Vec::new(),
                    hold: None,
                };
                (v, (!ctx.dry_run).then_some((hold, HoldOutcome::Approved)))
            }
        }
    }

    /// Step 7: the constraints and their one atomic commit. With `shared_chains` the commit
    /// also reads the chain head (one round trip on a networked store), kept in `ctx`.
    fn enforce(
        &self,
        ctx: &mut Ctx<'_>,
        set: &ConstraintSet,
        ectx: &EvalContext,
        chain: &str,
    ) -> Verdict {
        let store = self.state.as_ref();
        let shared = !ctx.dry_run && self.attesting.as_ref().is_some_and(|a| a.shared);
        let out = if shared {
            let head = &mut ctx.head_read;
            self.enforcer
                .enforce_committing(set, ectx, store, ctx.dry_run, &mut |r| {
                    let (outcome, h) = store.check_and_commit_reading_head(r, chain)?;
                    *head = Some(h);
                    Ok(outcome)
                })
        } else {
            self.enforcer.enforce(set, ectx, store, ctx.dry_run)
        };
        match out {
            Ok(o) => outcome_verdict(o),
            Err(e) => Verdict::err(&e),
        }
    }

    /// Records (unless dry run) and builds the decision, taking the chain's lock.
    fn finish(
        &self,
        ctx: &Ctx<'_>,
        subject: &Subject<'_>,
        v: Verdict,
        effective: Option<&Arc<Map<String, Value>>>,
        permission: Option<String>,
    ) -> GateDecision {
        let _g =
            (!ctx.dry_run && self.attesting.is_some()).then(|| lock(self.stripe(subject.chain)));
        self.finish_locked(ctx, subject, v, effective, permission, None)
    }

    /// Records and builds the decision; the caller holds the chain's lock when attesting.
    fn finish_locked(
        &self,
        ctx: &Ctx<'_>,
        subject: &Subject<'_>,
        v: Verdict,
        effective: Option<&Arc<Map<String, Value>>>,
        permission: Option<String>,
        pin: Option<&CatalogPin>,
    ) -> GateDecision {
        let target = ctx.canonical_target();
        let mut d = GateDecision {
            decision: v.decision,
            reason: v.reason,
            detail: v.detail,
            recorded_as: v.recorded,
            evaluations: v.evaluations,
            effective_constraints: effective.cloned().unwrap_or_default(),
            hold_id: v.hold.as_ref().map(|h| h.hold_id.clone()),
            hold_expires_at: v
                .hold
                .as_ref()
                .and_then(|h| h.expires_at.to_rfc3339_millis().ok()),
            passport_id: subject.passport_id.map(str::to_owned),
            agent_id: subject.passport_id.map(|_| subject.agent_id.to_owned()),
            permission,
            target,
            request_digest: ctx.digest.clone(),
            decided_at: ctx.now.to_rfc3339_millis().unwrap_or_default(),
            dry_run: ctx.dry_run,
            cached: ctx.cached,
            warnings: ctx.warnings.clone(),
            upgrade: None,
            attestation: None,
            checkpoint: None,
        };
        if ctx.dry_run {
            return d;
        }
        let Some(att) = &self.attesting else { return d };
        let evals = serde_json::to_value(&d.evaluations).unwrap_or(Value::Array(Vec::new()));
        let evals_digest = crate::attestation::evaluations_digest(&evals);
        let terms = effective.map(|m| {
            Value::Object(
                m.iter()
                    .filter(|(k, _)| {
                        k.starts_with("core:pricing:")
                            || k.starts_with("core:sla:")
                            || k.starts_with("core:platform_fee:")
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            )
        });
        // A malformed request's action may not be recordable as written.
        let action = ctx.req.action.as_str();
        let recordable = !action.is_empty()
            && action.len() <= MAX_FIELD_BYTES
            && !action.chars().any(char::is_control);
        let mut draft = AttestationDraft::new(
            subject.chain,
            subject.agent_id,
            if recordable { action } else { "(invalid)" },
            v.recorded.attestation(),
            ctx.now,
        )
        .evaluations_digest(&evals_digest)
        .request_digest(&ctx.digest);
        if let Some(t) = &d.target {
            draft = draft.target(t);
        }
        if let Some(r) = &d.reason {
            draft = draft.reason(r);
        }
        if let Some(p) = pin {
            draft = draft.catalog(p);
        }
        if let Some(t) = &terms {
            draft = draft.terms(t);
        }
        let signed = if att.shared {
            self.attest_shared(att, subject.chain, &draft, ctx.head_read.clone())
        } else {
            let mut log = lock(&att.log);
            let head = log.head(self.gate_id(), subject.chain);
            att.attestor
                .attest(&head, &draft)
                .and_then(|(rec, new_head)| {
                    log.append(&rec)?;
                    Ok((rec, new_head))
                })
        };
        match signed {
            Ok((rec, new_head)) => {
                d.attestation = Some(rec.to_value());
                if att.checkpoints {
                    if let Ok(cp) = att
                        .attestor
                        .checkpoint(Some(subject.chain), &new_head, ctx.now)
                    {
                        d.checkpoint = serde_json::from_slice(&cp.to_json()).ok();
                    }
                }
            }
            Err(e) => {
                // Fail closed: an unrecorded decision is not an allow. State already committed
                // stays committed (conservative: the spend is counted).
                d.decision = Decision::Block;
                d.recorded_as = Recorded::Block;
                d.reason = Some(e.code().as_str().to_owned());
                d.detail = Some(format!(
                    "the decision could not be attested: {}",
                    e.detail()
                ));
                d.hold_id = None;
                d.hold_expires_at = None;
            }
        }
        d
    }
}

impl Gate {
    /// Settles a hold here and in a shared store (so no replica finds it again). A store that
    /// cannot delete the record leaves it to expire: the shared reservation, already settled,
    /// still refuses a second approval.
    fn forget_hold(&self, hold_id: &str) {
        self.holds.remove(hold_id);
        let _ = self.state.remove_hold_record(hold_id);
    }

    /// A hold by id: this gate's table first, then the record a replica left in a shared
    /// state store. Whether it is still open is settled by `commit_hold` / `release_hold`.
    fn find_hold(&self, hold_id: &str) -> Result<Option<Hold>> {
        if let Some(h) = self.holds.get(hold_id) {
            return Ok(Some(h));
        }
        Ok(self
            .state
            .get_hold_record(hold_id)?
            .as_deref()
            .and_then(Hold::from_record))
    }

    /// Signs the next record of a chain whose head lives in the state store: read the head
    /// (or take the one read with the state commit), sign, move the head by compare-and-swap;
    /// when another replica moved it first, read and sign again. Only a record whose head move
    /// succeeded is logged and returned, so no two replicas ever hand out the same sequence.
    fn attest_shared(
        &self,
        att: &Attesting,
        chain: &str,
        draft: &AttestationDraft<'_>,
        mut head_read: Option<NextInChain>,
    ) -> Result<(Attestation, ChainHead)> {
        // Another replica moving the head first is normal; losing many times in a row happens
        // when this process keeps being descheduled between reading the head and moving it (a
        // loaded host), so later attempts wait a little, with jitter (`backoff`).
        const TRIES: usize = 32;
        for attempt in 0..TRIES {
            let (next, prev) = match head_read.take() {
                Some(h) => h,
                None => self.state.next_sequence(chain, None)?,
            };
            let hash = match prev {
                None => LinkHash::genesis(self.gate_id(), chain),
                Some(h) => LinkHash::from_hex(&h).ok_or_else(|| {
                    Error::new(
                        Code::StateUnavailable,
                        format!("the state store holds a malformed head hash for chain {chain:?}"),
                    )
                })?,
            };
            let head = ChainHead {
                sequence: next.saturating_sub(1),
                hash,
            };
            let (rec, new_head) = att.attestor.attest(&head, draft)?;
            if self
                .state
                .commit_head(chain, new_head.sequence, &new_head.hash.to_hex())?
            {
                lock(&att.log).append_shared(&rec)?;
                return Ok((rec, new_head));
            }
            if attempt + 1 < TRIES {
                backoff(attempt, &new_head.hash);
            }
        }
        Err(Error::new(
            Code::StateUnavailable,
            format!("chain {chain:?}: the head moved under {TRIES} attempts in a row"),
        ))
    }
}

/// The wait after the `attempt`-th lost race for a shared chain's head: none for the first two,
/// then up to 50 µs doubling to at most 2 ms (about 50 ms over all attempts), the point in that
/// range taken from the losing record's hash, which differs between replicas. WebAssembly has
/// no threads to wait for and no `sleep`: it retries at once.
fn backoff(attempt: usize, jitter: &crate::attestation::LinkHash) {
    #[cfg(not(target_family = "wasm"))]
    if let Some(k) = attempt.checked_sub(2) {
        let range_us = (50u64 << k.min(6)).min(2_000);
        let [a, b, ..] = jitter.0;
        let us = u64::from(u16::from_le_bytes([a, b])) % range_us;
        std::thread::sleep(std::time::Duration::from_micros(us));
    }
    #[cfg(target_family = "wasm")]
    let _ = (attempt, jitter);
}

/// The catalog entry `action` falls under, if the passport's tier may use it.
fn catalog_entry(cat: &Catalog, p: &Passport, action: &str) -> Result<usize> {
    let keys = cat.permissions().iter().map(|x| x.permission_key.as_str());
    let (i, cp) = best_match(keys, action)
        .and_then(|i| cat.permissions().get(i).map(|cp| (i, cp)))
        .ok_or_else(|| {
            Error::new(
                Code::PermissionNotGranted,
                format!(
                    "{action:?} is not in catalog version {} of this gate",
                    cat.version()
                ),
            )
        })?;
    if tier_level(p.tier) < cp.min_trust_level {
        return Err(Error::new(
            Code::TrustTierInsufficient,
            format!(
                "{:?} needs trust level {}; the passport is {}",
                cp.permission_key,
                cp.min_trust_level,
                p.tier.as_str()
            ),
        ));
    }
    Ok(i)
}

fn outcome_verdict(o: crate::constraints::Outcome) -> Verdict {
    let hold = o.hold_id.map(|id| Hold {
        hold_id: id,
        request_digest: String::new(),
        passport_id: String::new(),
        agent_id: String::new(),
        action: String::new(),
        target: None,
        permission: String::new(),
        reserved_cents: 0,
        reason: String::new(),
        detail: String::new(),
        created_at: Timestamp::from_unix_millis(0),
        expires_at: Timestamp::from_unix_millis(0),
    });
    Verdict {
        decision: o.decision,
        recorded: match o.decision {
            Decision::Allow => Recorded::Allow,
            Decision::RequestHold => Recorded::RequestHold,
            Decision::Block => Recorded::Block,
        },
        reason: o.reason,
        detail: o.detail,
        evaluations: o
            .evaluations
            .into_iter()
            .map(EvaluationRecord::from)
            .collect(),
        hold: if o.decision == Decision::RequestHold {
            hold
        } else {
            None
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_is_send_and_sync() {
        fn assert<T: Send + Sync>() {}
        assert::<Gate>();
        assert::<GateDecision>();
    }

    /// A JWT's cache entry keeps the request's own bytes (no copy); a token with surrounding
    /// whitespace is copied trimmed and found again without it.
    #[test]
    fn cached_passports_share_the_request_token() {
        use crate::keys::SigningKey;
        use crate::passport::JwtIssue;
        use crate::trust::{TrustStore, TrustedIssuer, TrustedKey};
        let (issuer, agent) = (
            SigningKey::from_seed(&[1; 32]),
            SigningKey::from_seed(&[2; 32]),
        );
        let t0 = Timestamp::from_unix_millis(1_772_409_600_000);
        let trust = TrustStore::new()
            .with(
                TrustedIssuer::new("acme", IssuerKind::Organization)
                    .with_key(TrustedKey::new("acme-1", issuer.public_key())),
            )
            .unwrap();
        let g = Gate::new(GateConfig::new("g", Profile::L1, trust)).unwrap();
        let token = |iat_ms: i64| {
            let mut iss = JwtIssue::new(
                "pp_1",
                "agent_1",
                agent.public_key(),
                t0.plus_millis(-iat_ms),
                t0.plus_millis(3_600_000),
            );
            iss.permissions = vec![crate::envelope::Permission::new("a:*", Map::new())];
            iss.issue("acme", "acme-1", &issuer).unwrap()
        };
        let cached_bytes = |wire: &[u8]| {
            g.cache
                .get(wire)
                .ok()
                .map(|c| c.passport.signed_bytes().as_ptr())
        };

        let shared: Arc<str> = token(1_000).into();
        let mut req = GateRequest::new("a:b");
        req.passport = Some(shared.clone());
        assert!(g.check_at(&req, t0).is_allowed());
        assert_eq!(cached_bytes(shared.as_bytes()), Some(shared.as_ptr()));

        let bare = token(2_000);
        let padded = GateRequest::new("a:b").passport(format!(" {bare}\n"));
        assert!(g.check_at(&padded, t0).is_allowed());
        assert!(cached_bytes(bare.as_bytes()).is_some());
        let again = g.check_at(&GateRequest::new("a:b").passport(&bare), t0);
        assert!(again.is_allowed() && again.cached);
    }
}
