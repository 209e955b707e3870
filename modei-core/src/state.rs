//! Shared state for enforcement: everything counted across requests.
//!
//! The enforcement layer is pure; the counts it needs live behind the [`StateStore`] trait:
//! rate windows, cumulative spend with reservations for held actions, attestation sequence
//! numbers and chain heads, replay nonces, heartbeats, anomaly counters and anonymous-access
//! counters. Every method is one round trip, so a networked store (Redis: one Lua script per
//! call) can implement the same trait.
//!
//! **Atomicity.** [`StateStore::check_and_commit`] checks every cap of a [`Reservation`] and
//! commits all of its increments in one step: two concurrent callers can never both pass a
//! cap. The gate calls it once per decision, after the pure checks passed.
//!
//! **Windows** are fixed and aligned to UTC: a minute window is `[k*60 s, (k+1)*60 s)`, an hour
//! likewise, a day starts at 00:00 UTC, a month on the 1st at 00:00 UTC, and `total` never
//! rolls. Fixed windows are exact, need O(1) memory and map to one key per window in a
//! networked store; the price is that a burst straddling a boundary can reach twice the
//! per-window limit within one window's length (documented in `docs/constraints.md`).
//!
//! [`MemoryStateStore`] is the in-process implementation: 16 shards of `Mutex<HashMap>`
//! selected by a hash of the subject, lazy expiry, and hard caps on entries. When a shard is
//! full it first drops counters whose loss changes no answer (no spend ever, no open hold, last
//! action on an earlier UTC day); if it is still full it fails closed with `state_unavailable`
//! rather than forgetting counts that limits depend on.

use crate::error::{Code, Error, Result};
use crate::time::Timestamp;
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// A counting window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Window {
    /// The current UTC minute.
    Minute,
    /// The current UTC hour.
    Hour,
    /// The current UTC day (from 00:00 UTC).
    Day,
    /// The current UTC calendar month.
    Month,
    /// Since the counter was created; never rolls over.
    Total,
}

impl Window {
    /// All windows, shortest first.
    pub const ALL: [Window; 5] = [
        Window::Minute,
        Window::Hour,
        Window::Day,
        Window::Month,
        Window::Total,
    ];

    /// The snake_case name (`minute`, `hour`, `day`, `month`, `total`).
    pub fn as_str(self) -> &'static str {
        match self {
            Window::Minute => "minute",
            Window::Hour => "hour",
            Window::Day => "day",
            Window::Month => "month",
            Window::Total => "total",
        }
    }

    /// The start (unix ms) of the window that contains `now`.
    pub fn start(self, now: Timestamp) -> i64 {
        let ms = now.unix_millis();
        match self {
            Window::Minute => ms - ms.rem_euclid(MINUTE_MS),
            Window::Hour => ms - ms.rem_euclid(HOUR_MS),
            Window::Day => ms - ms.rem_euclid(DAY_MS),
            Window::Month => {
                let days = ms.div_euclid(DAY_MS);
                let (y, m, _) = civil_from_days(days);
                days_from_civil(y, m, 1).saturating_mul(DAY_MS)
            }
            Window::Total => i64::MIN,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

// Howard Hinnant's civil-date algorithms (proleptic Gregorian, days since 1970-01-01).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// One rate limit to check and count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateCheck {
    /// The constraint key that set the limit (reported when exceeded).
    pub key: Arc<str>,
    /// The window.
    pub window: Window,
    /// The most actions allowed in the window, this one included.
    pub limit: u64,
}

/// One cumulative spend cap to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendCap {
    /// The constraint key that set the cap.
    pub key: Arc<str>,
    /// The window.
    pub window: Window,
    /// The most cents that may be spent (committed plus reserved) in the window.
    pub cap: i64,
}

/// A hold to open instead of committing the spend (the action awaits human approval).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldSpec {
    /// The approval request id the host will later approve or deny.
    pub id: String,
    /// When the reservation lapses on its own (Modei: 5 minutes).
    pub expires_at: Timestamp,
}

/// Everything one decision needs counted, checked and committed atomically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// Who is counted: a passport id, or `anon:<client id>` for anonymous access. Also the
    /// shard key: all counters of one reservation live in one shard.
    pub subject: String,
    /// The counter within the subject (the gate uses the permission key; `""` for one counter
    /// per subject).
    pub counter: String,
    /// The decision instant.
    pub now: Timestamp,
    /// Rate limits; the action counts once against every window.
    pub rates: Vec<RateCheck>,
    /// Cents this action costs (0 for none; never negative).
    pub amount: i64,
    /// Spend caps checked against `amount`.
    pub caps: Vec<SpendCap>,
    /// When set, the amount is reserved under this hold instead of being spent.
    pub hold: Option<HoldSpec>,
}

/// What a successful commit recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// Actions in each rate window after this one, in `rates` order.
    pub counts: Vec<u64>,
    /// Spend (committed plus active reservations) in each cap window after this one, in
    /// `caps` order.
    pub spend: Vec<i64>,
}

/// Why a reservation was refused. Nothing was committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceeded {
    /// The constraint key whose limit would be passed.
    pub key: Arc<str>,
    /// The window.
    pub window: Window,
    /// The count or spend already in the window (before this action).
    pub current: i64,
    /// What this action would add (1 for a rate, the amount for spend).
    pub requested: i64,
    /// The limit.
    pub limit: i64,
    /// What every rate window of the reservation had counted before this action, in `rates`
    /// order, so evaluations of the limits that passed can show it.
    pub counts: Vec<u64>,
    /// What every cap window of the reservation had spent (with open reservations) before
    /// this action, in `caps` order.
    pub spend: Vec<i64>,
}

impl Exceeded {
    /// A human sentence, e.g. `day spend 9750 + 4500 would exceed 10000 cents`.
    pub fn detail(&self) -> String {
        if self.key.starts_with("core:rate") || self.key.starts_with("rate_limit") {
            format!(
                "{} actions this {} already; the limit is {}",
                self.current,
                self.window.as_str(),
                self.limit
            )
        } else {
            format!(
                "{} spend {} + {} would exceed {} cents",
                self.window.as_str(),
                self.current,
                self.requested,
                self.limit
            )
        }
    }
}

/// The answer of [`StateStore::check_and_commit`]: committed, or refused with nothing
/// committed.
pub type CommitOutcome = std::result::Result<Committed, Exceeded>;

/// Where a chain's next record goes: `(its sequence, the previous record's hash)`, as
/// [`StateStore::next_sequence`] returns it.
pub type NextInChain = (u64, Option<String>);

/// A read of one subject's counters, for informative checks (anomaly, CEL `state`). Not a
/// guarantee: only [`StateStore::check_and_commit`] decides caps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateSnapshot {
    /// Actions in the current minute, hour and day windows of the counter.
    pub count_minute: u64,
    /// See `count_minute`.
    pub count_hour: u64,
    /// See `count_minute`.
    pub count_day: u64,
    /// Spend (committed plus active reservations) in the current hour, day, month, and total.
    pub spend_hour: i64,
    /// See `spend_hour`.
    pub spend_day: i64,
    /// See `spend_hour`.
    pub spend_month: i64,
    /// See `spend_hour`.
    pub spend_total: i64,
    /// Actions of the subject (all counters) in the 5 minutes before `now` (the current minute
    /// and the 4 before it).
    pub recent_5m: u64,
    /// Actions of the subject in the 30 minutes before that (minutes 5..35 back).
    pub baseline_30m: u64,
}

/// The state an enforcement layer shares across requests. Implementations must be safe to call
/// from many threads; each method is one atomic step.
pub trait StateStore: Send + Sync {
    /// Reads the counters of `subject`/`counter` at `now`.
    fn snapshot(&self, subject: &str, counter: &str, now: Timestamp) -> Result<StateSnapshot>;

    /// Checks every limit of the reservation and, only if all pass, commits all of it (rate
    /// counts, spend or a hold reservation, an anomaly event). The outer `Err` is a store
    /// failure (`state_unavailable`); the gate fails closed on it.
    fn check_and_commit(&self, r: &Reservation)
        -> Result<std::result::Result<Committed, Exceeded>>;

    /// Releases a held reservation (denied or abandoned). Returns whether it was still open.
    fn release_hold(&self, subject: &str, hold_id: &str, now: Timestamp) -> Result<bool>;

    /// Turns a held reservation into spend (approved). Returns whether it was still open; an
    /// expired hold is not committed.
    fn commit_hold(&self, subject: &str, hold_id: &str, now: Timestamp) -> Result<bool>;

    /// Reads a chain's head for the next record: `(sequence for the new record, hash of the
    /// previous record)`; the first record of a chain gets sequence 1 and no previous hash.
    /// With `expected`, a different next sequence is an `attestation_sequence_gap` error.
    fn next_sequence(&self, chain: &str, expected: Option<u64>) -> Result<(u64, Option<String>)>;

    /// [`check_and_commit`](Self::check_and_commit) and, in the same step, a read of `chain`'s
    /// head as [`next_sequence`](Self::next_sequence) returns it. A gate whose attestation
    /// chains live in the store (`shared_chains`) calls this, so a check costs one round trip
    /// before signing and one (the [`commit_head`](Self::commit_head)) after. The default makes
    /// the two calls; a networked store should answer both at once.
    fn check_and_commit_reading_head(
        &self,
        r: &Reservation,
        chain: &str,
    ) -> Result<(CommitOutcome, NextInChain)> {
        let outcome = self.check_and_commit(r)?;
        Ok((outcome, self.next_sequence(chain, None)?))
    }

    /// Advances a chain's head to `(sequence, hash)` if and only if `sequence` is the head's
    /// sequence plus one (compare-and-swap). Returns false when another writer got there first;
    /// the caller then re-reads with [`next_sequence`](Self::next_sequence) and re-signs.
    fn commit_head(&self, chain: &str, sequence: u64, hash: &str) -> Result<bool>;

    /// Keeps a hold's record (JSON text) where every replica can read it, until `expires_at`,
    /// so an operator's approval can be presented at any replica. Returns false when this
    /// store is not shared (the default: the gate's own hold table suffices).
    fn put_hold_record(
        &self,
        hold_id: &str,
        record: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool> {
        let _ = (hold_id, record, now, expires_at);
        Ok(false)
    }

    /// A hold record kept by [`put_hold_record`](Self::put_hold_record), if any. Whether the
    /// hold is still open is decided by `commit_hold` / `release_hold`, not by this record.
    fn get_hold_record(&self, hold_id: &str) -> Result<Option<String>> {
        let _ = hold_id;
        Ok(None)
    }

    /// Forgets a hold's record once the hold is settled (approved, denied, expired).
    fn remove_hold_record(&self, hold_id: &str) -> Result<()> {
        let _ = hold_id;
        Ok(())
    }

    /// Records a nonce unless it was already seen and has not expired. Returns true if fresh.
    fn check_nonce(
        &self,
        scope: &str,
        nonce: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool>;

    /// Records a heartbeat for `subject` (e.g. the Supravision link).
    fn record_heartbeat(&self, subject: &str, at: Timestamp) -> Result<()>;

    /// The latest heartbeat recorded for `subject`.
    fn last_heartbeat(&self, subject: &str) -> Result<Option<Timestamp>>;
}

/// Limits of a [`MemoryStateStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryLimits {
    /// Counters (subject × counter) per shard. Default 4096 (65 536 in all).
    pub counters_per_shard: usize,
    /// Nonces per shard. Default 16 384 (262 144 in all).
    pub nonces_per_shard: usize,
    /// Open holds per counter. Default 256.
    pub holds_per_counter: usize,
    /// Chains and heartbeats per shard. Default 4096.
    pub chains_per_shard: usize,
}

impl Default for MemoryLimits {
    fn default() -> Self {
        MemoryLimits {
            counters_per_shard: 4096,
            nonces_per_shard: 16_384,
            holds_per_counter: 256,
            chains_per_shard: 4096,
        }
    }
}

const SHARDS: usize = 16;
const ANOMALY_MINUTES: i64 = 35;

#[derive(Debug, Default, Clone, Copy)]
struct Slot {
    start: i64,
    value: i64,
}

impl Slot {
    fn get(&self, start: i64) -> i64 {
        if self.start == start {
            self.value
        } else {
            0
        }
    }
    fn add(&mut self, start: i64, v: i64) {
        if self.start != start {
            self.start = start;
            self.value = 0;
        }
        self.value = self.value.saturating_add(v);
    }
}

#[derive(Debug, Clone)]
struct Hold {
    id: String,
    amount: i64,
    expires_at: i64,
}

#[derive(Debug, Default)]
struct Counter {
    counts: [Slot; 5],
    spend: [Slot; 5],
    holds: Vec<Hold>,
    last_seen: i64,
}

impl Counter {
    fn purge_holds(&mut self, now: i64) {
        self.holds.retain(|h| h.expires_at > now);
    }
    fn reserved(&self) -> i64 {
        self.holds
            .iter()
            .fold(0i64, |a, h| a.saturating_add(h.amount))
    }
    fn count(&self, w: Window, now: Timestamp) -> u64 {
        self.counts[w.index()].get(w.start(now)).max(0) as u64
    }
    fn spent(&self, w: Window, now: Timestamp) -> i64 {
        self.spend[w.index()]
            .get(w.start(now))
            .saturating_add(self.reserved())
    }
    /// Forgetting this counter changes no answer: no hold is open, it never spent anything
    /// (so no hour/day/month/total spend), and its last action was on an earlier UTC day (so
    /// its minute, hour and day counts have all rolled over).
    fn forgettable(&self, now: Timestamp) -> bool {
        self.holds.is_empty()
            && self.spend[Window::Total.index()].value == 0
            && Window::Day.start(Timestamp::from_unix_millis(self.last_seen))
                < Window::Day.start(now)
    }
}

#[derive(Debug, Default)]
struct Subject {
    /// (minute index, count) for the anomaly rule, oldest first.
    minutes: VecDeque<(i64, u64)>,
}

/// Counters by subject, then counter name: looked up by `&str` without building a key.
#[derive(Debug, Default)]
struct Counters {
    by_subject: HashMap<String, HashMap<String, Counter>>,
    len: usize,
}

impl Counters {
    fn get_mut(&mut self, subject: &str, counter: &str) -> Option<&mut Counter> {
        self.by_subject.get_mut(subject)?.get_mut(counter)
    }

    /// The counter, made if missing (the caller checks the bound first). Keys are allocated
    /// only when a counter is made.
    fn get_or_insert(&mut self, subject: &str, counter: &str) -> Option<&mut Counter> {
        if self.get_mut(subject, counter).is_none() {
            self.by_subject
                .entry(subject.to_owned())
                .or_default()
                .insert(counter.to_owned(), Counter::default());
            self.len += 1;
        }
        self.get_mut(subject, counter)
    }

    /// The counters of one subject.
    fn of_subject(&mut self, subject: &str) -> impl Iterator<Item = &mut Counter> {
        self.by_subject
            .get_mut(subject)
            .into_iter()
            .flat_map(|m| m.values_mut())
    }

    fn retain(&mut self, mut keep: impl FnMut(&mut Counter) -> bool) {
        let mut len = 0;
        self.by_subject.retain(|_, m| {
            m.retain(|_, c| keep(c));
            len += m.len();
            !m.is_empty()
        });
        self.len = len;
    }
}

#[derive(Debug, Default)]
struct Shard {
    counters: Counters,
    subjects: HashMap<String, Subject>,
    nonces: HashMap<(String, String), i64>,
    chains: HashMap<String, (u64, String)>,
    heartbeats: HashMap<String, Timestamp>,
    /// Hold id → (record, expires at ms): gates sharing this store take each other's approvals.
    hold_records: HashMap<String, (String, i64)>,
}

/// The in-memory [`StateStore`]: 16 shards of `Mutex<HashMap>` keyed by a hash of the
/// subject (or chain / nonce scope). Bounded by [`MemoryLimits`]; old windows expire lazily.
/// State is per instance: there is no global state, and two stores share nothing.
#[derive(Debug)]
pub struct MemoryStateStore {
    shards: Vec<Mutex<Shard>>,
    limits: MemoryLimits,
}

impl Default for MemoryStateStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStateStore {
    /// A store with the default limits.
    pub fn new() -> Self {
        Self::with_limits(MemoryLimits::default())
    }

    /// A store with explicit limits.
    pub fn with_limits(limits: MemoryLimits) -> Self {
        MemoryStateStore {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            limits,
        }
    }

    fn shard(&self, key: &str) -> Result<MutexGuard<'_, Shard>> {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        let i = (h.finish() as usize) % SHARDS;
        self.shards[i]
            .lock()
            .map_err(|_| Error::new(Code::StateUnavailable, "state shard lock is poisoned"))
    }

    fn full(what: &str) -> Error {
        Error::new(
            Code::StateUnavailable,
            format!("in-memory state store is full ({what}); failing closed"),
        )
    }
}

fn counter_mut<'a>(
    shard: &'a mut Shard,
    limits: &MemoryLimits,
    subject: &str,
    counter: &str,
    now: i64,
) -> Result<&'a mut Counter> {
    if shard.counters.get_mut(subject, counter).is_none()
        && shard.counters.len >= limits.counters_per_shard
    {
        let t = Timestamp::from_unix_millis(now);
        shard.counters.retain(|c| {
            c.purge_holds(now);
            !c.forgettable(t)
        });
        if shard.counters.len >= limits.counters_per_shard {
            return Err(MemoryStateStore::full("counters"));
        }
    }
    shard
        .counters
        .get_or_insert(subject, counter)
        .ok_or_else(|| MemoryStateStore::full("counters"))
}

fn anomaly_counts(s: Option<&Subject>, now: Timestamp) -> (u64, u64) {
    let cur = now.unix_millis().div_euclid(MINUTE_MS);
    let mut recent = 0u64;
    let mut base = 0u64;
    if let Some(s) = s {
        for &(m, c) in &s.minutes {
            let age = cur - m;
            if (0..5).contains(&age) {
                recent += c;
            } else if (5..35).contains(&age) {
                base += c;
            }
        }
    }
    (recent, base)
}

impl StateStore for MemoryStateStore {
    fn snapshot(&self, subject: &str, counter: &str, now: Timestamp) -> Result<StateSnapshot> {
        let mut shard = self.shard(subject)?;
        let (recent_5m, baseline_30m) = anomaly_counts(shard.subjects.get(subject), now);
        let mut snap = StateSnapshot {
            recent_5m,
            baseline_30m,
            ..Default::default()
        };
        if let Some(c) = shard.counters.get_mut(subject, counter) {
            c.purge_holds(now.unix_millis());
            snap.count_minute = c.count(Window::Minute, now);
            snap.count_hour = c.count(Window::Hour, now);
            snap.count_day = c.count(Window::Day, now);
            snap.spend_hour = c.spent(Window::Hour, now);
            snap.spend_day = c.spent(Window::Day, now);
            snap.spend_month = c.spent(Window::Month, now);
            snap.spend_total = c.spent(Window::Total, now);
        }
        Ok(snap)
    }

    fn check_and_commit(
        &self,
        r: &Reservation,
    ) -> Result<std::result::Result<Committed, Exceeded>> {
        if r.amount < 0 {
            return Err(Error::new(
                Code::InvalidArgument,
                "reservation amount must not be negative",
            ));
        }
        let now_ms = r.now.unix_millis();
        let mut guard = self.shard(&r.subject)?;
        let shard = &mut *guard;
        let limits = self.limits;
        let c = counter_mut(shard, &limits, &r.subject, &r.counter, now_ms)?;
        c.purge_holds(now_ms);
        // Check everything first.
        let refused = |key: &Arc<str>, window, current, requested, limit, c: &Counter| Exceeded {
            key: key.clone(),
            window,
            current,
            requested,
            limit,
            counts: r.rates.iter().map(|rc| c.count(rc.window, r.now)).collect(),
            spend: r
                .caps
                .iter()
                .map(|cap| c.spent(cap.window, r.now))
                .collect(),
        };
        for rc in &r.rates {
            let cur = c.count(rc.window, r.now);
            if cur.saturating_add(1) > rc.limit {
                let (cur, limit) = (i64::try_from(cur), i64::try_from(rc.limit));
                return Ok(Err(refused(
                    &rc.key,
                    rc.window,
                    cur.unwrap_or(i64::MAX),
                    1,
                    limit.unwrap_or(i64::MAX),
                    c,
                )));
            }
        }
        for cap in &r.caps {
            let cur = c.spent(cap.window, r.now);
            if cur.saturating_add(r.amount) > cap.cap {
                return Ok(Err(refused(
                    &cap.key, cap.window, cur, r.amount, cap.cap, c,
                )));
            }
        }
        if r.hold.is_some() && c.holds.len() >= limits.holds_per_counter {
            return Err(MemoryStateStore::full("holds"));
        }
        // Commit: every action counts in every window, so limits set later see history.
        for w in Window::ALL {
            c.counts[w.index()].add(w.start(r.now), 1);
        }
        match &r.hold {
            Some(h) => c.holds.push(Hold {
                id: h.id.clone(),
                amount: r.amount,
                expires_at: h.expires_at.unix_millis(),
            }),
            None => {
                for w in Window::ALL {
                    c.spend[w.index()].add(w.start(r.now), r.amount);
                }
            }
        }
        c.last_seen = now_ms;
        let counts = r.rates.iter().map(|rc| c.count(rc.window, r.now)).collect();
        let spend = r
            .caps
            .iter()
            .map(|cap| c.spent(cap.window, r.now))
            .collect();
        // Anomaly event (per subject, per minute).
        let minute = now_ms.div_euclid(MINUTE_MS);
        let subj = match shard.subjects.get_mut(&r.subject) {
            Some(s) => s,
            None => shard.subjects.entry(r.subject.clone()).or_default(),
        };
        while let Some(&(m, _)) = subj.minutes.front() {
            if minute - m >= ANOMALY_MINUTES {
                subj.minutes.pop_front();
            } else {
                break;
            }
        }
        match subj.minutes.back_mut() {
            Some((m, n)) if *m == minute => *n += 1,
            _ => {
                if subj.minutes.len() >= ANOMALY_MINUTES as usize {
                    subj.minutes.pop_front();
                }
                subj.minutes.push_back((minute, 1));
            }
        }
        if shard.subjects.len() > limits.counters_per_shard {
            shard.subjects.retain(|_, s| {
                s.minutes
                    .back()
                    .is_some_and(|&(m, _)| minute - m < ANOMALY_MINUTES)
            });
        }
        Ok(Ok(Committed { counts, spend }))
    }

    fn release_hold(&self, subject: &str, hold_id: &str, now: Timestamp) -> Result<bool> {
        let mut shard = self.shard(subject)?;
        let now_ms = now.unix_millis();
        let mut found = false;
        for c in shard.counters.of_subject(subject) {
            c.purge_holds(now_ms);
            let before = c.holds.len();
            c.holds.retain(|h| h.id != hold_id);
            found |= c.holds.len() != before;
        }
        Ok(found)
    }

    fn commit_hold(&self, subject: &str, hold_id: &str, now: Timestamp) -> Result<bool> {
        let mut shard = self.shard(subject)?;
        let now_ms = now.unix_millis();
        for c in shard.counters.of_subject(subject) {
            c.purge_holds(now_ms);
            if let Some(i) = c.holds.iter().position(|h| h.id == hold_id) {
                let h = c.holds.remove(i);
                for w in Window::ALL {
                    c.spend[w.index()].add(w.start(now), h.amount);
                }
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn next_sequence(&self, chain: &str, expected: Option<u64>) -> Result<(u64, Option<String>)> {
        let shard = self.shard(chain)?;
        let (seq, prev) = match shard.chains.get(chain) {
            Some((s, h)) => (s.saturating_add(1), Some(h.clone())),
            None => (1, None),
        };
        if let Some(e) = expected {
            if e != seq {
                return Err(Error::new(
                    Code::AttestationSequenceGap,
                    format!("chain {chain:?}: expected sequence {e}, next is {seq}"),
                ));
            }
        }
        Ok((seq, prev))
    }

    fn commit_head(&self, chain: &str, sequence: u64, hash: &str) -> Result<bool> {
        let mut shard = self.shard(chain)?;
        let head = shard.chains.get(chain).map(|(s, _)| *s).unwrap_or(0);
        if sequence != head.saturating_add(1) {
            return Ok(false);
        }
        if head == 0 && shard.chains.len() >= self.limits.chains_per_shard {
            return Err(Self::full("chains"));
        }
        shard
            .chains
            .insert(chain.to_string(), (sequence, hash.to_string()));
        Ok(true)
    }

    fn check_nonce(
        &self,
        scope: &str,
        nonce: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool> {
        let mut shard = self.shard(scope)?;
        let now_ms = now.unix_millis();
        let key = (scope.to_string(), nonce.to_string());
        if let Some(&exp) = shard.nonces.get(&key) {
            if exp > now_ms {
                return Ok(false);
            }
        }
        if !shard.nonces.contains_key(&key) && shard.nonces.len() >= self.limits.nonces_per_shard {
            shard.nonces.retain(|_, exp| *exp > now_ms);
            if shard.nonces.len() >= self.limits.nonces_per_shard {
                return Err(Self::full("nonces"));
            }
        }
        shard.nonces.insert(key, expires_at.unix_millis());
        Ok(true)
    }

    fn record_heartbeat(&self, subject: &str, at: Timestamp) -> Result<()> {
        let mut shard = self.shard(subject)?;
        if !shard.heartbeats.contains_key(subject)
            && shard.heartbeats.len() >= self.limits.chains_per_shard
        {
            return Err(Self::full("heartbeats"));
        }
        let e = shard.heartbeats.entry(subject.to_string()).or_insert(at);
        if at > *e {
            *e = at;
        }
        Ok(())
    }

    fn last_heartbeat(&self, subject: &str) -> Result<Option<Timestamp>> {
        Ok(self.shard(subject)?.heartbeats.get(subject).copied())
    }

    fn put_hold_record(
        &self,
        hold_id: &str,
        record: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool> {
        let mut shard = self.shard(hold_id)?;
        let now_ms = now.unix_millis();
        if shard.hold_records.len() >= self.limits.chains_per_shard {
            shard.hold_records.retain(|_, (_, exp)| *exp > now_ms);
            if shard.hold_records.len() >= self.limits.chains_per_shard {
                return Err(Self::full("hold records"));
            }
        }
        shard.hold_records.insert(
            hold_id.to_owned(),
            (record.to_owned(), expires_at.unix_millis()),
        );
        Ok(true)
    }

    fn remove_hold_record(&self, hold_id: &str) -> Result<()> {
        self.shard(hold_id)?.hold_records.remove(hold_id);
        Ok(())
    }

    fn get_hold_record(&self, hold_id: &str) -> Result<Option<String>> {
        Ok(self
            .shard(hold_id)?
            .hold_records
            .get(hold_id)
            .map(|(r, _)| r.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn ts(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(ms)
    }

    fn rate(key: &str, window: Window, limit: u64, now: i64) -> Reservation {
        Reservation {
            subject: "p1".into(),
            counter: "read".into(),
            now: ts(now),
            rates: vec![RateCheck {
                key: key.into(),
                window,
                limit,
            }],
            amount: 0,
            caps: vec![],
            hold: None,
        }
    }

    #[test]
    fn window_starts() {
        // 2026-01-01T00:00:00Z = 1_767_225_600_000; 2026-02-15T13:45:10Z below.
        let jan1 = 1_767_225_600_000;
        let feb15 = jan1 + (31 + 14) * DAY_MS + 13 * HOUR_MS + 45 * MINUTE_MS + 10_000;
        assert_eq!(Window::Month.start(ts(feb15)), jan1 + 31 * DAY_MS);
        assert_eq!(Window::Day.start(ts(feb15)), jan1 + 45 * DAY_MS);
        assert_eq!(
            Window::Hour.start(ts(feb15)),
            jan1 + 45 * DAY_MS + 13 * HOUR_MS
        );
        assert_eq!(
            Window::Minute.start(ts(feb15)),
            jan1 + 45 * DAY_MS + 13 * HOUR_MS + 45 * MINUTE_MS
        );
        // 2024 is a leap year: March starts 60 days after Jan 1 (1_704_067_200_000).
        let jan1_2024 = 1_704_067_200_000;
        assert_eq!(
            Window::Month.start(ts(jan1_2024 + 65 * DAY_MS)),
            jan1_2024 + 60 * DAY_MS
        );
        // Before 1970.
        assert_eq!(Window::Day.start(ts(-1)), -DAY_MS);
    }

    #[test]
    fn minute_window_rolls_over_exactly() {
        let s = MemoryStateStore::new();
        let t0 = 1_767_225_600_000; // a minute boundary
        for i in 0..3 {
            assert!(s
                .check_and_commit(&rate("k", Window::Minute, 3, t0 + i * 1000))
                .unwrap()
                .is_ok());
        }
        let e = s
            .check_and_commit(&rate("k", Window::Minute, 3, t0 + 59_999))
            .unwrap()
            .unwrap_err();
        assert_eq!((e.current, e.limit), (3, 3));
        assert!(s
            .check_and_commit(&rate("k", Window::Minute, 3, t0 + 60_000))
            .unwrap()
            .is_ok());
        // The hour window still holds 4 (3 + 1): the denied attempt did not count.
        let snap = s.snapshot("p1", "read", ts(t0 + 60_000)).unwrap();
        assert_eq!(
            (snap.count_minute, snap.count_hour, snap.count_day),
            (1, 4, 4)
        );
    }

    #[test]
    fn a_refused_reservation_commits_nothing() {
        let s = MemoryStateStore::new();
        let t = 1_767_225_600_000;
        let both = |now: i64, amount: i64| Reservation {
            subject: "p1".into(),
            counter: "c".into(),
            now: ts(now),
            rates: vec![
                RateCheck {
                    key: "m".into(),
                    window: Window::Minute,
                    limit: 10,
                },
                RateCheck {
                    key: "h".into(),
                    window: Window::Hour,
                    limit: 2,
                },
            ],
            amount,
            caps: vec![SpendCap {
                key: "s".into(),
                window: Window::Day,
                cap: 100,
            }],
            hold: None,
        };
        assert!(s.check_and_commit(&both(t, 60)).unwrap().is_ok());
        // Spend 60 + 50 > 100: refused by the cap, so neither rate counts this attempt.
        assert_eq!(
            s.check_and_commit(&both(t, 50))
                .unwrap()
                .unwrap_err()
                .key
                .as_ref(),
            "s"
        );
        let snap = s.snapshot("p1", "c", ts(t)).unwrap();
        assert_eq!(
            (snap.count_minute, snap.count_hour, snap.spend_day),
            (1, 1, 60)
        );
        assert!(s.check_and_commit(&both(t, 40)).unwrap().is_ok());
        // The hour limit (2) now refuses, although the minute limit (10) would pass.
        assert_eq!(
            s.check_and_commit(&both(t, 0))
                .unwrap()
                .unwrap_err()
                .key
                .as_ref(),
            "h"
        );
        let snap = s.snapshot("p1", "c", ts(t)).unwrap();
        assert_eq!(
            (snap.count_minute, snap.count_hour, snap.spend_day),
            (2, 2, 100)
        );
    }

    #[test]
    fn day_window_rolls_at_midnight_utc() {
        let s = MemoryStateStore::new();
        let midnight = 1_767_225_600_000 + DAY_MS;
        assert!(s
            .check_and_commit(&rate("d", Window::Day, 1, midnight - 1))
            .unwrap()
            .is_ok());
        assert!(s
            .check_and_commit(&rate("d", Window::Day, 1, midnight - 1))
            .unwrap()
            .is_err());
        assert!(s
            .check_and_commit(&rate("d", Window::Day, 1, midnight))
            .unwrap()
            .is_ok());
    }

    fn spend(amount: i64, cap: i64, now: i64, hold: Option<(&str, i64)>) -> Reservation {
        Reservation {
            subject: "p1".into(),
            counter: "buy".into(),
            now: ts(now),
            rates: vec![],
            amount,
            caps: vec![SpendCap {
                key: "core:cost:max_cumulative".into(),
                window: Window::Day,
                cap,
            }],
            hold: hold.map(|(id, exp)| HoldSpec {
                id: id.into(),
                expires_at: ts(exp),
            }),
        }
    }

    #[test]
    fn spend_reservations_release_and_expire() {
        let s = MemoryStateStore::new();
        let t = 1_767_225_600_000;
        assert!(s
            .check_and_commit(&spend(9750, 10_000, t, None))
            .unwrap()
            .is_ok());
        let e = s
            .check_and_commit(&spend(4500, 10_000, t, None))
            .unwrap()
            .unwrap_err();
        assert_eq!(e.detail(), "day spend 9750 + 4500 would exceed 10000 cents");
        // A hold of 200 reserves: 9750 + 200 = 9950; then 100 more fits, 51 more does not.
        assert!(s
            .check_and_commit(&spend(200, 10_000, t, Some(("h1", t + 300_000))))
            .unwrap()
            .is_ok());
        assert!(s
            .check_and_commit(&spend(51, 10_000, t + 1, None))
            .unwrap()
            .is_err());
        // Released on deny: the 51 fits again (9750 + 51 = 9801).
        assert!(s.release_hold("p1", "h1", ts(t + 2)).unwrap());
        assert!(!s.release_hold("p1", "h1", ts(t + 2)).unwrap());
        assert!(s
            .check_and_commit(&spend(51, 10_000, t + 3, None))
            .unwrap()
            .is_ok());
        // A hold that expires frees its reservation without any call: 9801 + 199 = 10000.
        assert!(s
            .check_and_commit(&spend(199, 10_000, t + 4, Some(("h2", t + 1000))))
            .unwrap()
            .is_ok());
        assert!(s
            .check_and_commit(&spend(1, 10_000, t + 999, None))
            .unwrap()
            .is_err());
        assert!(s
            .check_and_commit(&spend(1, 10_000, t + 1000, None))
            .unwrap()
            .is_ok());
        // Approving an expired hold commits nothing.
        assert!(!s.commit_hold("p1", "h2", ts(t + 2000)).unwrap());
        // An approved hold becomes spend: 9802 + 100 = 9902.
        assert!(s
            .check_and_commit(&spend(100, 10_000, t + 3000, Some(("h3", t + 9000))))
            .unwrap()
            .is_ok());
        assert!(s.commit_hold("p1", "h3", ts(t + 3001)).unwrap());
        assert_eq!(
            s.snapshot("p1", "buy", ts(t + 20_000)).unwrap().spend_day,
            9902
        );
    }

    #[test]
    fn concurrent_callers_never_pass_a_cap() {
        let s = Arc::new(MemoryStateStore::new());
        let t = 1_767_225_600_000;
        let allowed = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let spent_ok = Arc::new(std::sync::atomic::AtomicI64::new(0));
        let mut hs = vec![];
        for th in 0..8 {
            let s = s.clone();
            let allowed = allowed.clone();
            let spent_ok = spent_ok.clone();
            hs.push(std::thread::spawn(move || {
                for i in 0..200 {
                    let r = Reservation {
                        subject: "hot".into(),
                        counter: "c".into(),
                        now: ts(t + i),
                        rates: vec![RateCheck {
                            key: "core:rate:max_per_day".into(),
                            window: Window::Day,
                            limit: 500,
                        }],
                        amount: 7,
                        caps: vec![SpendCap {
                            key: "core:cost:max_cumulative".into(),
                            window: Window::Total,
                            cap: 7 * 1000 + th, // never the binding limit
                        }],
                        hold: None,
                    };
                    if s.check_and_commit(&r).unwrap().is_ok() {
                        allowed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        spent_ok.fetch_add(7, std::sync::atomic::Ordering::SeqCst);
                    }
                }
            }));
        }
        for h in hs {
            h.join().unwrap();
        }
        // 8 × 200 = 1600 attempts, the day limit is 500: exactly 500 pass, spending 3500.
        assert_eq!(allowed.load(std::sync::atomic::Ordering::SeqCst), 500);
        assert_eq!(spent_ok.load(std::sync::atomic::Ordering::SeqCst), 3500);
        let snap = s.snapshot("hot", "c", ts(t + 1000)).unwrap();
        assert_eq!((snap.count_day, snap.spend_total), (500, 3500));
    }

    #[test]
    fn concurrent_spend_cap_is_exact() {
        let s = Arc::new(MemoryStateStore::new());
        let t = 1_767_225_600_000;
        let mut hs = vec![];
        for _ in 0..8 {
            let s = s.clone();
            hs.push(std::thread::spawn(move || {
                let mut n = 0u32;
                for i in 0..100 {
                    if s.check_and_commit(&spend(30, 10_000, t + i, None))
                        .unwrap()
                        .is_ok()
                    {
                        n += 1;
                    }
                }
                n
            }));
        }
        let total: u32 = hs.into_iter().map(|h| h.join().unwrap()).sum();
        // floor(10000 / 30) = 333 actions fit (9990 cents); 800 were tried.
        assert_eq!(total, 333);
        assert_eq!(
            s.snapshot("p1", "buy", ts(t + 200)).unwrap().spend_day,
            9990
        );
    }

    #[test]
    fn sequences_compare_and_swap() {
        let s = MemoryStateStore::new();
        assert_eq!(s.next_sequence("g/p", None).unwrap(), (1, None));
        assert!(s.commit_head("g/p", 1, "h1").unwrap());
        assert!(!s.commit_head("g/p", 1, "h1b").unwrap());
        assert!(!s.commit_head("g/p", 3, "h3").unwrap());
        assert_eq!(
            s.next_sequence("g/p", Some(2)).unwrap(),
            (2, Some("h1".to_string()))
        );
        assert_eq!(
            s.next_sequence("g/p", Some(5)).unwrap_err().code(),
            Code::AttestationSequenceGap
        );
    }

    #[test]
    fn nonces_expire_and_the_store_is_bounded() {
        let s = MemoryStateStore::with_limits(MemoryLimits {
            nonces_per_shard: 2,
            ..Default::default()
        });
        assert!(s.check_nonce("g", "n1", ts(0), ts(1000)).unwrap());
        assert!(!s.check_nonce("g", "n1", ts(999), ts(2000)).unwrap());
        assert!(s.check_nonce("g", "n1", ts(1000), ts(2000)).unwrap());
        assert!(s.check_nonce("g", "n2", ts(1000), ts(2000)).unwrap());
        // Same scope, same shard, full of live nonces: fail closed.
        assert_eq!(
            s.check_nonce("g", "n3", ts(1500), ts(2500))
                .unwrap_err()
                .code(),
            Code::StateUnavailable
        );
        // Once they expire, space is reclaimed.
        assert!(s.check_nonce("g", "n3", ts(2000), ts(3000)).unwrap());
    }

    #[test]
    fn anomaly_minutes() {
        let s = MemoryStateStore::new();
        let t = 1_767_225_600_000;
        // 6 actions at minute 0, 4 at minute 20.
        for i in 0..6 {
            s.check_and_commit(&rate("k", Window::Day, 100, t + i))
                .unwrap()
                .unwrap();
        }
        for i in 0..4 {
            s.check_and_commit(&rate("k", Window::Day, 100, t + 20 * MINUTE_MS + i))
                .unwrap()
                .unwrap();
        }
        // At minute 22: recent (minutes 18..=22) = 4; baseline (minutes -12..=17) = 6.
        let snap = s.snapshot("p1", "read", ts(t + 22 * MINUTE_MS)).unwrap();
        assert_eq!((snap.recent_5m, snap.baseline_30m), (4, 6));
        // At minute 40: minute 0 is 40 minutes old (gone), minute 20 is in the baseline.
        let snap = s.snapshot("p1", "read", ts(t + 40 * MINUTE_MS)).unwrap();
        assert_eq!((snap.recent_5m, snap.baseline_30m), (0, 4));
    }

    #[test]
    fn full_store_forgets_only_what_changes_nothing() {
        let s = MemoryStateStore::with_limits(MemoryLimits {
            counters_per_shard: 1,
            ..Default::default()
        });
        let t = 1_767_225_600_000;
        let r = |subject: &str, counter: &str, now: i64, amount: i64| Reservation {
            subject: subject.into(),
            counter: counter.into(),
            now: ts(now),
            rates: vec![],
            amount,
            caps: vec![],
            hold: None,
        };
        // One counter fills the shard; a second counter of the same subject (same shard) is
        // refused the same day, accepted the next day (the first only had counts of day 1).
        s.check_and_commit(&r("a", "c1", t, 0)).unwrap().unwrap();
        assert_eq!(
            s.check_and_commit(&r("a", "c2", t + 1, 0))
                .unwrap_err()
                .code(),
            Code::StateUnavailable
        );
        s.check_and_commit(&r("a", "c2", t + DAY_MS, 0))
            .unwrap()
            .unwrap();
        // c2 spent money: it is never forgotten, so c3 is refused even a month later.
        s.check_and_commit(&r("a", "c2", t + DAY_MS, 5))
            .unwrap()
            .unwrap();
        assert_eq!(
            s.check_and_commit(&r("a", "c3", t + 40 * DAY_MS, 0))
                .unwrap_err()
                .code(),
            Code::StateUnavailable
        );
    }

    #[test]
    fn heartbeats_keep_the_latest() {
        let s = MemoryStateStore::new();
        assert_eq!(s.last_heartbeat("sv").unwrap(), None);
        s.record_heartbeat("sv", ts(10)).unwrap();
        s.record_heartbeat("sv", ts(5)).unwrap();
        assert_eq!(s.last_heartbeat("sv").unwrap(), Some(ts(10)));
    }
}
