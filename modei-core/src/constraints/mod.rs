//! The enforcement layer: typed constraints, ordered evaluation, decisions.
//!
//! A constraints map (`{"core:rate:max_per_minute": 60, ...}`) is parsed once into a validated
//! [`ConstraintSet`] by an [`Enforcer`] (which owns the registry of custom evaluators, the PII
//! detector and the CEL cache). Each request is then evaluated against an [`EvalContext`]:
//!
//! 1. evaluators run in Modei's category order **safety → temporal → scope → data → rate →
//!    cost → approval**, then CEL rules and custom evaluators (unless they pick a category);
//! 2. a `block` ends evaluation; a `request_hold` is recorded and evaluation goes on;
//! 3. nothing blocked and a hold recorded ⇒ `request_hold`; otherwise `allow`.
//!
//! Rate and cumulative-spend checks are first made against a [`StateSnapshot`] (so the reason
//! respects the order), then made authoritative by one atomic
//! [`StateStore::check_and_commit`]: [`Enforcer::enforce`] does both.
//!
//! Every key, value format and unit is documented in `docs/constraints.md`.

mod approval;
mod cost;
mod data;
mod merge;
mod rate;
mod safety;
mod scope;
mod temporal;
mod terms;

pub use data::{DefaultPiiDetector, PiiDetector};
pub use merge::merge;
pub use scope::ActionPattern;
pub use temporal::Schedule;

use crate::cel_rules::{CelEngine, CelRules};
use crate::error::{Code, Error, Result};
use crate::state::{CommitOutcome, HoldSpec, Reservation, StateSnapshot, StateStore, Window};
use crate::target::Target;
use crate::time::Timestamp;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// The three decisions the enforcement layer emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Decision {
    /// All constraints passed.
    Allow,
    /// A human must approve before the action runs.
    RequestHold,
    /// A hard constraint was violated.
    Block,
}

impl Decision {
    /// Modei's canonical wire name: `allow`, `request_hold`, `block`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::RequestHold => "request_hold",
            Decision::Block => "block",
        }
    }

    /// Parses the canonical names and the legacy ones (`PERMIT`, `SUSPEND`, `BLOCK`, `deny`).
    pub fn parse(s: &str) -> Option<Decision> {
        match s {
            "allow" | "PERMIT" | "permit" => Some(Decision::Allow),
            "request_hold" | "SUSPEND" | "suspend" => Some(Decision::RequestHold),
            "block" | "BLOCK" | "deny" => Some(Decision::Block),
            _ => None,
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Evaluation categories, in evaluation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// `core:safety:*`.
    Safety,
    /// `core:time:*`.
    Temporal,
    /// `core:scope:*`, `allowed_*`.
    Scope,
    /// `core:data:*`.
    Data,
    /// `core:rate:*`.
    Rate,
    /// `core:cost:*`.
    Cost,
    /// `core:approval:*`.
    Approval,
    /// `core:cel:rules` and, by default, custom evaluators.
    Rules,
}

/// The result of one evaluator.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The constraint key as written in the map (e.g. `core:cost:max_cumulative`,
    /// `max_daily_cost`); shared with the parsed constraint set, not copied per request.
    pub key: Arc<str>,
    /// This evaluator's outcome.
    pub outcome: Decision,
    /// What was observed (e.g. the current spend, the target host).
    pub observed: Value,
    /// The limit it was compared with (the constraint value, or a derived number).
    pub limit: Value,
    /// A human sentence (most are fixed texts, kept without a copy).
    pub detail: String,
}

/// A piece of a detail sentence.
pub(super) enum Part<'a> {
    Text(&'a str),
    Int(i64),
    Count(u64),
}

/// A detail sentence from text and integers, written without `format!`: on the warm path its
/// machinery cost more than the rest of a rate check.
pub(super) fn sentence(parts: &[Part<'_>]) -> String {
    let mut s = String::with_capacity(48);
    let mut n = itoa::Buffer::new();
    for p in parts {
        s.push_str(match p {
            Part::Text(t) => t,
            Part::Int(i) => n.format(*i),
            Part::Count(c) => n.format(*c),
        });
    }
    s
}

impl Evaluation {
    /// A rate limit or spend cap passing provisionally, before the commit decides it; always
    /// replaced before an outcome leaves the enforcer.
    fn provisional(key: &Arc<str>) -> Self {
        Evaluation {
            key: key.clone(),
            outcome: Decision::Allow,
            observed: Value::Null,
            limit: Value::Null,
            detail: String::new(),
        }
    }

    /// An evaluation with the given parts.
    pub fn new(
        key: &str,
        outcome: Decision,
        observed: Value,
        limit: Value,
        detail: impl Into<String>,
    ) -> Self {
        Evaluation::build(Arc::from(key), outcome, observed, limit, detail.into())
    }

    /// [`Evaluation::new`] for a key of a parsed constraint set: shared, not copied.
    pub(crate) fn of(
        key: &Arc<str>,
        outcome: Decision,
        observed: Value,
        limit: Value,
        detail: impl Into<String>,
    ) -> Self {
        Evaluation::build(key.clone(), outcome, observed, limit, detail.into())
    }

    /// [`Evaluation::new`] after its conversions (one copy of this code, not one per type).
    #[cfg_attr(target_family = "wasm", inline(never))]
    fn build(
        key: Arc<str>,
        outcome: Decision,
        observed: Value,
        limit: Value,
        detail: String,
    ) -> Self {
        Evaluation {
            key,
            outcome,
            observed,
            limit,
            detail,
        }
    }
}

/// The overall decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// `allow`, `request_hold` or `block`.
    pub decision: Decision,
    /// The constraint key that decided (the block, or the first hold); `None` for `allow`.
    pub reason: Option<String>,
    /// A human sentence for the deciding key, e.g. `day spend 9750 + 4500 would exceed 10000
    /// cents`.
    pub detail: Option<String>,
    /// Every evaluator that ran, in order.
    pub evaluations: Vec<Evaluation>,
    /// For `request_hold` after a commit: the hold id whose spend is reserved.
    pub hold_id: Option<String>,
}

impl Outcome {
    fn from_evaluations(evaluations: Vec<Evaluation>) -> Outcome {
        let decided = evaluations
            .iter()
            .find(|e| e.outcome == Decision::Block)
            .or_else(|| {
                evaluations
                    .iter()
                    .find(|e| e.outcome == Decision::RequestHold)
            });
        let (decision, reason, detail) = match decided {
            Some(e) => (
                e.outcome,
                Some(String::from(&*e.key)),
                Some(e.detail.clone()),
            ),
            None => (Decision::Allow, None, None),
        };
        Outcome {
            decision,
            reason,
            detail,
            evaluations,
            hold_id: None,
        }
    }
}

/// Who is acting, as the gate verified it. Anonymous requests use `passport_id =
/// "anon:<client id>"` so that their counters are separate. The gate lends the verified
/// passport's own texts (nothing is copied per request or per first sight).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassportInfo<'a> {
    /// The passport id; also the state-store subject.
    pub passport_id: &'a str,
    /// The agent id.
    pub agent_id: &'a str,
    /// The issuer id.
    pub issuer: &'a str,
    /// The trust tier (e.g. `L1`).
    pub tier: &'a str,
    /// The permission key that granted the action; also the state-store counter, so rate
    /// limits and budgets count per passport and permission.
    pub permission: &'a str,
}

/// Everything a constraint may look at for one request. The gate lends the request's action
/// and metadata and the passport's texts rather than copying them for every check.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalContext<'a> {
    /// The action key (e.g. `email:send`).
    pub action: &'a str,
    /// The canonical target, if the request has one.
    pub target: Option<Target>,
    /// What the action costs, in integer cents (0 when free). Negative costs are blocked by
    /// any cost constraint.
    pub cost_cents: i64,
    /// Request metadata (an object; `method` and `model` have meanings, see the docs).
    pub metadata: Cow<'a, Value>,
    /// The decision instant.
    pub now: Timestamp,
    /// The last Supravision heartbeat the host saw (for `core:safety:fail_closed`).
    pub heartbeat: Option<Timestamp>,
    /// The verified passport.
    pub passport: PassportInfo<'a>,
    /// The approval request id to use if the decision is `request_hold` (its spend is reserved
    /// under it). Without one, an id is derived from the request.
    pub hold_id: Option<String>,
}

impl<'a> EvalContext<'a> {
    /// A context with only an action and an instant; fill in the rest as needed.
    pub fn new(action: &'a str, now: Timestamp) -> Self {
        EvalContext {
            action,
            target: None,
            cost_cents: 0,
            metadata: Cow::Owned(Value::Object(Map::new())),
            now,
            heartbeat: None,
            passport: PassportInfo::default(),
            hold_id: None,
        }
    }
}

/// A host-registered evaluator for a key the core does not know.
pub trait CustomEvaluator: Send + Sync {
    /// Where it runs in the order (default: after the approval evaluators, with CEL rules).
    fn category(&self) -> Category {
        Category::Rules
    }
    /// Validates the value once, when the constraints are parsed. Errors should be
    /// `constraint_invalid`.
    fn validate(&self, key: &str, value: &Value) -> Result<()>;
    /// Evaluates one request.
    fn evaluate(
        &self,
        key: &str,
        value: &Value,
        ctx: &EvalContext,
        state: &StateSnapshot,
    ) -> Evaluation;
}

/// Tunables of the enforcer. Defaults follow Modei's documented numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnforcerSettings {
    /// How long a hold's spend reservation lasts (Modei: approvals expire after 5 minutes).
    pub hold_ttl_ms: i64,
}

impl Default for EnforcerSettings {
    fn default() -> Self {
        EnforcerSettings {
            hold_ttl_ms: 5 * 60_000,
        }
    }
}

#[derive(Clone)]
pub(crate) enum Kind {
    FailClosed { max_age_ms: i64 },
    AnomalySuspend { multiplier: u64, min_events: u64 },
    OperatingHours(temporal::Hours),
    Blackout(Vec<temporal::Blackout>),
    ActionBlocklist(Listed<ActionPattern>),
    ActionAllowlist(Listed<ActionPattern>),
    DomainBlocklist(Listed<crate::target::DomainPattern>),
    DomainAllowlist(Listed<crate::target::DomainPattern>),
    PathAllowlist(Listed<scope::PathPattern>),
    ModelAllowlist(Vec<String>),
    ReadOnly,
    NoPiiExport,
    Rate { window: Window, limit: u64 },
    MaxPerAction(i64),
    Cumulative { window: Window, cap: i64 },
    ApprovalThreshold(i64),
    ApprovalRequired,
    ApprovalForActions(Listed<ActionPattern>),
    Cel(CelRules),
    Custom(Arc<dyn CustomEvaluator>, Value),
}

/// A pattern list and its JSON form. Every evaluation reports the list as its limit; natively
/// the form is rendered once when the constraint is parsed (rendering it per request, a
/// `String` per pattern through `Display`, cost more than matching it). The WebAssembly build
/// renders it per evaluation, as its size budget is tighter than its time budget.
#[derive(Clone)]
pub(crate) struct Listed<T> {
    items: Vec<T>,
    #[cfg(not(target_family = "wasm"))]
    shown: Value,
}

impl<T: fmt::Display> Listed<T> {
    fn new(items: Vec<T>) -> Self {
        Listed {
            #[cfg(not(target_family = "wasm"))]
            shown: render(&items),
            items,
        }
    }

    /// The list as the evaluation's `limit`.
    pub(crate) fn shown(&self) -> Value {
        #[cfg(not(target_family = "wasm"))]
        return self.shown.clone();
        #[cfg(target_family = "wasm")]
        render(&self.items)
    }
}

fn render<T: fmt::Display>(items: &[T]) -> Value {
    Value::from(items.iter().map(T::to_string).collect::<Vec<_>>())
}

impl<T> std::ops::Deref for Listed<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.items
    }
}

#[derive(Clone)]
pub(crate) struct Entry {
    pub(crate) key: Arc<str>,
    pub(crate) category: Category,
    pub(crate) rank: u16,
    pub(crate) kind: Kind,
}

/// A parsed, validated constraints map, ready to evaluate many times.
#[derive(Clone)]
pub struct ConstraintSet {
    entries: Vec<Entry>,
    terms: Map<String, Value>,
}

impl fmt::Debug for ConstraintSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConstraintSet")
            .field(
                "keys",
                &self.entries.iter().map(|e| &e.key).collect::<Vec<_>>(),
            )
            .field("terms", &self.terms)
            .finish()
    }
}

impl ConstraintSet {
    /// The recorded terms (`core:pricing:*`, `core:sla:*`, `core:platform_fee:*`), validated,
    /// carried for attestations and receipts, never enforced.
    pub fn terms(&self) -> &Map<String, Value> {
        &self.terms
    }
    /// The enforced keys in evaluation order.
    pub fn keys(&self) -> Vec<&str> {
        self.entries.iter().map(|e| &*e.key).collect()
    }
    /// Whether any evaluator reads shared state (rate, cumulative spend, anomaly, CEL rules
    /// reading `state`, the host's evaluators).
    pub fn needs_state(&self) -> bool {
        self.needs_snapshot() || self.first_counted().is_some()
    }

    /// Whether an evaluator must see the counters before the commit (anomaly, CEL rules
    /// reading `state`, the host's evaluators). Rate limits and spend caps need not: the
    /// atomic commit checks them and reports what it counted.
    fn needs_snapshot(&self) -> bool {
        self.entries.iter().any(|e| match &e.kind {
            Kind::AnomalySuspend { .. } | Kind::Custom(..) => true,
            Kind::Cel(rules) => rules.reads_state(),
            _ => false,
        })
    }

    /// The position of the first rate limit or spend cap, in evaluation order.
    fn first_counted(&self) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| matches!(e.kind, Kind::Rate { .. } | Kind::Cumulative { .. }))
    }
}

/// The pure result of [`Enforcer::evaluate`]: a provisional outcome and, unless it blocked,
/// the reservation the gate must commit atomically.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// The outcome if the commit succeeds.
    pub outcome: Outcome,
    /// What to count and check atomically; `None` when the outcome is already `block`.
    pub reservation: Option<Reservation>,
}

/// Parses constraint maps and evaluates requests. Owns the custom-evaluator registry, the PII
/// detector and the CEL compile cache; holds no other state (counters live in a
/// [`StateStore`]). `Send + Sync`: share one per gate.
pub struct Enforcer {
    custom: HashMap<String, Arc<dyn CustomEvaluator>>,
    pii: Arc<dyn PiiDetector>,
    cel: CelEngine,
    settings: EnforcerSettings,
}

impl Default for Enforcer {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Enforcer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Enforcer")
            .field("custom", &self.custom.keys().collect::<Vec<_>>())
            .field("settings", &self.settings)
            .finish()
    }
}

pub(crate) fn invalid(key: &str, msg: impl fmt::Display) -> Error {
    Error::new(Code::ConstraintInvalid, format!("{key}: {msg}"))
}

impl Enforcer {
    /// An enforcer with the default PII detector, an empty registry and default settings.
    pub fn new() -> Self {
        Enforcer {
            custom: HashMap::new(),
            pii: Arc::new(DefaultPiiDetector),
            cel: CelEngine::new(),
            settings: EnforcerSettings::default(),
        }
    }

    /// Registers an evaluator for a key the core does not know. Keys under `core:` that the
    /// core implements cannot be overridden (`invalid_argument`).
    pub fn register(&mut self, key: &str, evaluator: Arc<dyn CustomEvaluator>) -> Result<()> {
        if classify(key).is_some() {
            return Err(Error::new(
                Code::InvalidArgument,
                format!("{key} is a built-in constraint and cannot be overridden"),
            ));
        }
        self.custom.insert(key.to_string(), evaluator);
        Ok(())
    }

    /// Replaces the PII detector used by `core:data:no_pii_export`.
    pub fn set_pii_detector(&mut self, detector: Arc<dyn PiiDetector>) {
        self.pii = detector;
    }

    /// Replaces the settings.
    pub fn set_settings(&mut self, settings: EnforcerSettings) {
        self.settings = settings;
    }

    /// The CEL engine (compile cache).
    pub fn cel(&self) -> &CelEngine {
        &self.cel
    }

    /// Parses and validates a constraints map. Bad values are `constraint_invalid` naming the
    /// key; unknown keys without a registered evaluator are `unknown_constraint`; CEL rules
    /// that do not compile are `cel_error`.
    pub fn parse(&self, map: &Map<String, Value>) -> Result<ConstraintSet> {
        if map.len() > 256 {
            return Err(Error::new(
                Code::LimitExceeded,
                format!("{} constraints; at most 256", map.len()),
            ));
        }
        let mut entries = Vec::new();
        let mut terms = Map::new();
        let cumulative_window = match map.get("core:cost:cumulative_window") {
            Some(v) => cost::parse_window("core:cost:cumulative_window", v)?,
            None => Window::Day,
        };
        for (key, value) in map {
            let push = |entries: &mut Vec<Entry>, category, rank, kind| {
                entries.push(Entry {
                    key: Arc::from(key.as_str()),
                    category,
                    rank,
                    kind,
                })
            };
            match classify(key) {
                Some(Known::Term) => {
                    terms::validate(key, value)?;
                    terms.insert(key.clone(), value.clone());
                }
                Some(Known::Param) => {}
                Some(Known::Cel) => {
                    let rules = self.cel.parse_rules(key, value)?;
                    push(&mut entries, Category::Rules, 0, Kind::Cel(rules));
                }
                Some(Known::Native(category, rank)) => {
                    if let Some(kind) = parse_native(key, value, cumulative_window)? {
                        push(&mut entries, category, rank, kind);
                    }
                }
                None => match self.custom.get(key) {
                    Some(ev) => {
                        ev.validate(key, value)?;
                        push(
                            &mut entries,
                            ev.category(),
                            1000,
                            Kind::Custom(ev.clone(), value.clone()),
                        );
                    }
                    None => {
                        return Err(Error::new(
                            Code::UnknownConstraint,
                            format!("{key}: no evaluator for this constraint; failing closed"),
                        ))
                    }
                },
            }
        }
        entries.sort_by(|a, b| (a.category, a.rank, &a.key).cmp(&(b.category, b.rank, &b.key)));
        Ok(ConstraintSet { entries, terms })
    }

    /// Evaluates a request without touching shared state: stateful limits are checked against
    /// `state` (a [`StateStore::snapshot`]). Returns the provisional outcome and the
    /// reservation to commit.
    pub fn evaluate(
        &self,
        set: &ConstraintSet,
        ctx: &EvalContext,
        state: &StateSnapshot,
    ) -> Pending {
        self.evaluate_at(set, ctx, Some(state))
    }

    /// [`evaluate`](Self::evaluate); with no snapshot, rate limits and spend caps pass
    /// provisionally (their evaluations are placeholders the commit's counts fill in) and the
    /// other evaluators see zero counters (only called when none of them reads them).
    fn evaluate_at(
        &self,
        set: &ConstraintSet,
        ctx: &EvalContext,
        snapshot: Option<&StateSnapshot>,
    ) -> Pending {
        let zero = StateSnapshot::default();
        let state = snapshot.unwrap_or(&zero);
        let mut evals = Vec::with_capacity(set.entries.len());
        let mut rates = Vec::new();
        let mut caps = Vec::new();
        let mut blocked = false;
        for e in &set.entries {
            let ev = match &e.kind {
                Kind::FailClosed { max_age_ms } => safety::fail_closed(&e.key, *max_age_ms, ctx),
                Kind::AnomalySuspend {
                    multiplier,
                    min_events,
                } => safety::anomaly(&e.key, *multiplier, *min_events, state),
                Kind::OperatingHours(h) => temporal::operating_hours(&e.key, h, ctx),
                Kind::Blackout(b) => temporal::blackout(&e.key, b, ctx),
                Kind::ActionBlocklist(l) => scope::action_blocklist(&e.key, l, ctx),
                Kind::ActionAllowlist(l) => scope::action_allowlist(&e.key, l, ctx),
                Kind::DomainBlocklist(l) => scope::domain_blocklist(&e.key, l, ctx),
                Kind::DomainAllowlist(l) => scope::domain_allowlist(&e.key, l, ctx),
                Kind::PathAllowlist(l) => scope::path_allowlist(&e.key, l, ctx),
                Kind::ModelAllowlist(l) => scope::model_allowlist(&e.key, l, ctx),
                Kind::ReadOnly => data::read_only(&e.key, ctx),
                Kind::NoPiiExport => data::no_pii_export(&e.key, self.pii.as_ref(), ctx),
                Kind::Rate { window, limit } => {
                    rate::check(&e.key, *window, *limit, snapshot, &mut rates)
                }
                Kind::MaxPerAction(max) => cost::max_per_action(&e.key, *max, ctx),
                Kind::Cumulative { window, cap } => {
                    cost::cumulative(&e.key, *window, *cap, ctx, snapshot, &mut caps)
                }
                Kind::ApprovalThreshold(t) => cost::approval_threshold(&e.key, *t, ctx),
                Kind::ApprovalRequired => approval::required(&e.key),
                Kind::ApprovalForActions(l) => approval::for_actions(&e.key, l, ctx),
                Kind::Cel(rules) => self.cel.evaluate(&e.key, rules, ctx, state),
                Kind::Custom(ev, v) => ev.evaluate(&e.key, v, ctx, state),
            };
            let stop = ev.outcome == Decision::Block;
            evals.push(ev);
            if stop {
                blocked = true;
                break;
            }
        }
        let mut outcome = Outcome::from_evaluations(evals);
        let reservation = if blocked {
            None
        } else {
            let hold = if outcome.decision == Decision::RequestHold {
                let id = ctx.hold_id.clone().unwrap_or_else(|| derive_hold_id(ctx));
                outcome.hold_id = Some(id.clone());
                Some(HoldSpec {
                    id,
                    expires_at: ctx.now.plus_millis(self.settings.hold_ttl_ms),
                })
            } else {
                None
            };
            Some(Reservation {
                subject: ctx.passport.passport_id.to_string(),
                counter: ctx.passport.permission.to_string(),
                now: ctx.now,
                rates,
                amount: ctx.cost_cents.max(0),
                caps,
                hold,
            })
        };
        Pending {
            outcome,
            reservation,
        }
    }

    /// The whole decision: pure evaluation, then one atomic check-and-commit (always, so every
    /// allowed or held action is counted), whose counts fill in the rate limits' and spend
    /// caps' evaluations. A snapshot is read first only when an evaluator needs the counters
    /// before the commit (anomaly, CEL rules reading `state`, host evaluators), in a dry run,
    /// or when a local block follows a counted limit (so the earliest limit is the reason).
    /// With `dry_run`, nothing is committed (a `hold_id` is provisional: nothing is reserved).
    /// A state-store failure is an `Err` (`state_unavailable`); the gate turns it into a
    /// block.
    pub fn enforce(
        &self,
        set: &ConstraintSet,
        ctx: &EvalContext,
        store: &dyn StateStore,
        dry_run: bool,
    ) -> Result<Outcome> {
        self.enforce_committing(set, ctx, store, dry_run, &mut |r| store.check_and_commit(r))
    }

    /// [`enforce`](Self::enforce) with the caller's atomic commit of the reservation (a gate
    /// whose chains live in the store reads the chain head in the same step). `commit` is
    /// called at most once, never in a dry run.
    pub fn enforce_committing(
        &self,
        set: &ConstraintSet,
        ctx: &EvalContext,
        store: &dyn StateStore,
        dry_run: bool,
        commit: &mut dyn FnMut(&Reservation) -> Result<CommitOutcome>,
    ) -> Result<Outcome> {
        // Commit first when no evaluator needs the counters before the commit: evaluate with
        // the rate limits and spend caps provisionally passing, commit (which checks them
        // atomically), then report what the commit counted. One round trip per decision, and
        // none when a limit the store does not keep blocks first.
        if !dry_run && !set.needs_snapshot() {
            let pending = self.evaluate_at(set, ctx, None);
            match pending.reservation {
                Some(r) => {
                    let outcome = commit(&r)?;
                    // A store that does not report every window it checked cannot fill the
                    // evaluations in: fail closed rather than show placeholders.
                    let (n, s) = match &outcome {
                        Ok(c) => (c.counts.len(), c.spend.len()),
                        Err(ex) => (ex.counts.len(), ex.spend.len()),
                    };
                    if (n, s) != (r.rates.len(), r.caps.len()) {
                        return Err(Error::new(
                            Code::StateUnavailable,
                            format!(
                                "the state store reported {n} counts and {s} spends for {} rate \
                                 limits and {} spend caps",
                                r.rates.len(),
                                r.caps.len()
                            ),
                        ));
                    }
                    return Ok(match outcome {
                        Ok(after) => {
                            let counts = &mut after.counts.iter().map(|n| n.saturating_sub(1));
                            let spend = &mut after.spend.iter().map(|s| s - r.amount);
                            counted_outcome(pending.outcome, &r, counts, spend)
                        }
                        Err(ex) => {
                            let counts = &mut ex.counts.iter().copied();
                            let spend = &mut ex.spend.iter().copied();
                            let o = counted_outcome(pending.outcome, &r, counts, spend);
                            exceeded_outcome(o, &ex)
                        }
                    });
                }
                // Blocked before any rate limit or spend cap was reached: the counters could
                // not have changed that. Otherwise read them, so the earliest limit in
                // evaluation order is the one reported.
                None if set
                    .first_counted()
                    .is_none_or(|i| pending.outcome.evaluations.len() <= i) =>
                {
                    return Ok(pending.outcome);
                }
                None => {}
            }
        }
        let snap = if set.needs_state() {
            store.snapshot(ctx.passport.passport_id, ctx.passport.permission, ctx.now)?
        } else {
            StateSnapshot::default()
        };
        let pending = self.evaluate(set, ctx, &snap);
        let Some(reservation) = pending.reservation else {
            return Ok(pending.outcome);
        };
        if dry_run {
            return Ok(pending.outcome);
        }
        match commit(&reservation)? {
            Ok(_) => Ok(pending.outcome),
            Err(exceeded) => Ok(exceeded_outcome(pending.outcome, &exceeded)),
        }
    }
}

/// Fills in the provisional evaluations of the rate limits and spend caps from what the atomic
/// commit saw: the counts and spend before this action, as a snapshot would have shown them.
fn counted_outcome(
    mut outcome: Outcome,
    r: &Reservation,
    counts: &mut dyn Iterator<Item = u64>,
    spend: &mut dyn Iterator<Item = i64>,
) -> Outcome {
    for (rc, before) in r.rates.iter().zip(counts) {
        if let Some(e) = outcome.evaluations.iter_mut().find(|e| e.key == rc.key) {
            *e = rate::counted(&rc.key, rc.window, rc.limit, before);
        }
    }
    for (cap, before) in r.caps.iter().zip(spend) {
        if let Some(e) = outcome.evaluations.iter_mut().find(|e| e.key == cap.key) {
            *e = cost::counted(&cap.key, cap.window, cap.cap, before, r.amount);
        }
    }
    outcome
}

/// Rewrites a provisional outcome after the atomic commit refused a limit: the evaluation of
/// that key becomes a block and decides; later evaluations are dropped.
pub fn exceeded_outcome(mut outcome: Outcome, ex: &crate::state::Exceeded) -> Outcome {
    let detail = ex.detail();
    let pos = outcome.evaluations.iter().position(|e| e.key == ex.key);
    let ev = Evaluation::of(
        &ex.key,
        Decision::Block,
        Value::from(ex.current),
        Value::from(ex.limit),
        detail,
    );
    match pos {
        Some(i) => {
            outcome.evaluations.truncate(i);
            outcome.evaluations.push(ev);
        }
        None => outcome.evaluations.push(ev),
    }
    let mut out = Outcome::from_evaluations(outcome.evaluations);
    out.hold_id = None;
    out
}

fn derive_hold_id(ctx: &EvalContext) -> String {
    let mut h = blake3::Hasher::new();
    for part in [
        ctx.passport.passport_id,
        ctx.passport.permission,
        ctx.action,
        ctx.target.as_ref().map(|t| t.as_str()).unwrap_or(""),
    ] {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.update(&ctx.now.unix_millis().to_le_bytes());
    h.update(&ctx.cost_cents.to_le_bytes());
    let hex: String = h.finalize().as_bytes()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("appr_{hex}")
}

pub(crate) enum Known {
    Native(Category, u16),
    Term,
    Param,
    Cel,
}

/// What the core knows about a key.
pub(crate) fn classify(key: &str) -> Option<Known> {
    use Category::*;
    Some(match key {
        "core:safety:fail_closed" => Known::Native(Safety, 0),
        "core:safety:anomaly_suspend" => Known::Native(Safety, 1),
        "core:time:operating_hours" | "operating_hours" => Known::Native(Temporal, 0),
        "core:time:blackout_windows" => Known::Native(Temporal, 1),
        "core:scope:action_blocklist" => Known::Native(Scope, 0),
        "core:scope:action_allowlist" => Known::Native(Scope, 1),
        "core:scope:domain_blocklist" => Known::Native(Scope, 2),
        "core:scope:domain_allowlist" | "allowed_domains" => Known::Native(Scope, 3),
        "allowed_paths" => Known::Native(Scope, 4),
        "allowed_models" => Known::Native(Scope, 5),
        "core:data:read_only" => Known::Native(Data, 0),
        "core:data:no_pii_export" => Known::Native(Data, 1),
        "core:rate:max_per_minute" | "rate_limit_per_minute" => Known::Native(Rate, 0),
        "core:rate:max_per_hour" | "rate_limit_per_hour" => Known::Native(Rate, 1),
        "core:rate:max_per_day" => Known::Native(Rate, 2),
        "core:cost:max_per_action" | "max_per_action_cost" => Known::Native(Cost, 0),
        "core:cost:max_cumulative" | "max_daily_cost" | "max_total_cost" => Known::Native(Cost, 1),
        "core:cost:approval_threshold" => Known::Native(Cost, 2),
        "core:cost:cumulative_window" => Known::Param,
        "core:approval:required" => Known::Native(Approval, 0),
        "core:approval:for_actions" => Known::Native(Approval, 1),
        "core:cel:rules" => Known::Cel,
        k if terms::is_term(k) => Known::Term,
        _ => return None,
    })
}

pub(crate) fn as_bool(key: &str, v: &Value) -> Result<bool> {
    v.as_bool()
        .ok_or_else(|| invalid(key, "must be true or false"))
}

/// A non-negative JSON integer (no fraction, no exponent form that is not an integer).
pub(crate) fn as_count(key: &str, v: &Value) -> Result<u64> {
    v.as_u64()
        .ok_or_else(|| invalid(key, format!("must be a non-negative integer, got {v}")))
}

/// Non-negative integer cents that fit i64.
pub(crate) fn as_cents(key: &str, v: &Value) -> Result<i64> {
    v.as_u64()
        .and_then(|n| i64::try_from(n).ok())
        .ok_or_else(|| {
            invalid(
                key,
                format!("must be a non-negative integer number of cents, got {v}"),
            )
        })
}

pub(crate) fn as_str_list(key: &str, v: &Value, max: usize) -> Result<Vec<String>> {
    let arr = v
        .as_array()
        .ok_or_else(|| invalid(key, "must be a list of strings"))?;
    if arr.len() > max {
        return Err(invalid(
            key,
            format!("has {} entries; at most {max}", arr.len()),
        ));
    }
    arr.iter()
        .map(|x| {
            x.as_str()
                .map(str::to_string)
                .ok_or_else(|| invalid(key, "must be a list of strings"))
        })
        .collect()
}

/// Maximum entries in any list-valued constraint.
pub const MAX_LIST: usize = 1024;

fn parse_native(key: &str, v: &Value, cumulative_window: Window) -> Result<Option<Kind>> {
    Ok(Some(match key {
        "core:safety:fail_closed" => return safety::parse_fail_closed(key, v),
        "core:safety:anomaly_suspend" => return safety::parse_anomaly(key, v),
        "core:time:operating_hours" | "operating_hours" => {
            Kind::OperatingHours(temporal::parse_hours(key, v)?)
        }
        "core:time:blackout_windows" => Kind::Blackout(temporal::parse_blackouts(key, v)?),
        "core:scope:action_blocklist" => {
            Kind::ActionBlocklist(Listed::new(scope::parse_actions(key, v)?))
        }
        "core:scope:action_allowlist" => {
            Kind::ActionAllowlist(Listed::new(scope::parse_actions(key, v)?))
        }
        "core:scope:domain_blocklist" => {
            Kind::DomainBlocklist(Listed::new(scope::parse_domains(key, v)?))
        }
        "core:scope:domain_allowlist" | "allowed_domains" => {
            Kind::DomainAllowlist(Listed::new(scope::parse_domains(key, v)?))
        }
        "allowed_paths" => Kind::PathAllowlist(Listed::new(scope::parse_paths(key, v)?)),
        "allowed_models" => Kind::ModelAllowlist(as_str_list(key, v, MAX_LIST)?),
        "core:data:read_only" => {
            if !as_bool(key, v)? {
                return Ok(None);
            }
            Kind::ReadOnly
        }
        "core:data:no_pii_export" => {
            if !as_bool(key, v)? {
                return Ok(None);
            }
            Kind::NoPiiExport
        }
        "core:rate:max_per_minute" | "rate_limit_per_minute" => Kind::Rate {
            window: Window::Minute,
            limit: as_count(key, v)?,
        },
        "core:rate:max_per_hour" | "rate_limit_per_hour" => Kind::Rate {
            window: Window::Hour,
            limit: as_count(key, v)?,
        },
        "core:rate:max_per_day" => Kind::Rate {
            window: Window::Day,
            limit: as_count(key, v)?,
        },
        "core:cost:max_per_action" | "max_per_action_cost" => Kind::MaxPerAction(as_cents(key, v)?),
        "core:cost:max_cumulative" => Kind::Cumulative {
            window: cumulative_window,
            cap: as_cents(key, v)?,
        },
        "max_daily_cost" => Kind::Cumulative {
            window: Window::Day,
            cap: as_cents(key, v)?,
        },
        "max_total_cost" => Kind::Cumulative {
            window: Window::Total,
            cap: as_cents(key, v)?,
        },
        "core:cost:approval_threshold" => Kind::ApprovalThreshold(as_cents(key, v)?),
        "core:approval:required" => {
            if !as_bool(key, v)? {
                return Ok(None);
            }
            Kind::ApprovalRequired
        }
        "core:approval:for_actions" => {
            Kind::ApprovalForActions(Listed::new(scope::parse_actions(key, v)?))
        }
        _ => {
            return Err(Error::new(
                Code::UnknownConstraint,
                format!("{key}: no evaluator"),
            ))
        }
    }))
}

#[cfg(test)]
mod tests;
