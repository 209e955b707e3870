//! A Redis-backed [`StateStore`]: one shared state for many gate replicas.
//!
//! Every method is **one atomic round trip**: a Lua script run with `EVALSHA` (falling back to
//! `EVAL` once when the server has not cached it yet), or a single command. No two replicas can
//! both pass a check that together exceeds a cap, a nonce seen by one is refused by all, and a
//! chain head only moves by compare-and-swap. `docs/redis.md` has the key layout.
//!
//! **Failure.** Any error talking to Redis (refused, reset, or no answer within
//! [`RedisConfig::timeout`], default 50 ms) is `state_unavailable`; the gate fails closed on it.
//! The connection that failed is dropped together with every idle pooled connection (they are
//! likely stale too), and the next call connects afresh: the store reconnects on its own. A
//! timeout may hide a script that did commit: the action is then counted but blocked, which can
//! cost capacity and never exceeds a cap.
//!
//! **Connections.** The sync `redis` client with a small pool: a call takes an idle
//! connection (or opens one, with the same timeout), runs its one command, and puts it back.
//! Concurrent callers each use their own connection; at most [`RedisConfig::max_idle`] are kept.
//!
//! **Clock.** The caller's `now` decides windows and expiries (as in `MemoryStateStore`), so
//! replicas should run NTP; TTLs are computed relative to `now` plus [`RedisConfig::grace`].
//! A counter is one hash with a field per window, each field tagged with its window's start;
//! a window never moves back, so a replica a few seconds behind at a boundary counts against
//! the window a replica ahead has already started, and never resets it.

mod scripts;

use modei_core::error::{Code, Error, Result};
use modei_core::state::{
    CommitOutcome, Committed, Exceeded, NextInChain, Reservation, StateSnapshot, StateStore, Window,
};
use modei_core::time::Timestamp;
use redis::{
    Cmd, Connection, ErrorKind, FromRedisValue, IntoConnectionInfo, ServerErrorKind, Value,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The largest magnitude sent to a script: doubles are exact up to 2^53.
pub const MAX_EXACT: i64 = (1 << 53) - 1;

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

/// Configuration of a [`RedisStateStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port[/db]` (or `redis+unix:///path`).
    pub url: String,
    /// Namespace: every key starts with `modei:<gate_id>:`. Replicas of one gate share it.
    pub gate_id: String,
    /// Connect, write and read timeout of each call. Default 50 ms.
    pub timeout: Duration,
    /// Added to every TTL, and the tolerated clock skew between replicas. Default 60 s.
    pub grace: Duration,
    /// Open holds per counter (as `MemoryLimits::holds_per_counter`). Default 256.
    pub holds_per_counter: usize,
    /// Idle connections kept in the pool. Default 16.
    pub max_idle: usize,
}

impl RedisConfig {
    /// Defaults for `url` and `gate_id`.
    pub fn new(url: impl Into<String>, gate_id: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            gate_id: gate_id.into(),
            timeout: Duration::from_millis(50),
            grace: Duration::from_secs(60),
            holds_per_counter: 256,
            max_idle: 16,
        }
    }
}

/// Takes the `redis` member out of a gate config JSON (the bindings' way to configure a gate
/// with Redis; the core's config has no network settings) and builds the store for it,
/// namespaced by the config's `gate_id`:
///
/// ```json
/// {"gate_id": "api-1", "redis": {"url": "redis://127.0.0.1:6379/", "timeout_ms": 50,
///  "grace_seconds": 60, "holds_per_counter": 256, "max_idle": 16}, ...}
/// ```
///
/// Only `url` is required. No connection is made here: the first check connects, and a Redis
/// that cannot be reached makes checks block with `state_unavailable`. `Ok(None)` when the
/// config has no `redis` member. Errors: `invalid_argument` naming the member.
pub fn take_from_gate_config(
    config: &mut serde_json::Value,
) -> Result<Option<std::sync::Arc<RedisStateStore>>> {
    use serde_json::Value as J;
    let bad = |m: &str| Error::new(Code::InvalidArgument, format!("gate config: redis: {m}"));
    let Some(obj) = config.as_object_mut() else {
        return Ok(None);
    };
    let Some(r) = obj.remove("redis") else {
        return Ok(None);
    };
    let gate_id = obj
        .get("gate_id")
        .and_then(J::as_str)
        .ok_or_else(|| bad("the config needs a gate_id to namespace the keys"))?;
    let r = r.as_object().ok_or_else(|| {
        bad("must be an object {url, timeout_ms?, grace_seconds?, holds_per_counter?, max_idle?}")
    })?;
    for k in r.keys() {
        if !matches!(
            k.as_str(),
            "url" | "timeout_ms" | "grace_seconds" | "holds_per_counter" | "max_idle"
        ) {
            return Err(bad(&format!("unknown member {k:?}")));
        }
    }
    let url = r
        .get("url")
        .and_then(J::as_str)
        .ok_or_else(|| bad("url must be a string like redis://127.0.0.1:6379/"))?;
    let mut cfg = RedisConfig::new(url, gate_id);
    let num = |k: &str, max: u64| -> Result<Option<u64>> {
        match r.get(k) {
            None | Some(J::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .filter(|n| (1..=max).contains(n))
                .map(Some)
                .ok_or_else(|| bad(&format!("{k} must be an integer 1..={max}"))),
        }
    };
    if let Some(ms) = num("timeout_ms", 60_000)? {
        cfg.timeout = Duration::from_millis(ms);
    }
    if let Some(s) = num("grace_seconds", 86_400)? {
        cfg.grace = Duration::from_secs(s);
    }
    if let Some(n) = num("holds_per_counter", 1 << 20)? {
        cfg.holds_per_counter = n as usize;
    }
    if let Some(n) = num("max_idle", 1024)? {
        cfg.max_idle = n as usize;
    }
    RedisStateStore::new(cfg).map(|s| Some(std::sync::Arc::new(s)))
}

struct Script {
    src: String,
    sha: String,
}

impl Script {
    fn new(src: String) -> Self {
        let sha = redis::Script::new(&src).get_hash().to_owned();
        Script { src, sha }
    }
}

/// The Redis [`StateStore`]. `Send + Sync`; share one per process (`Arc`).
pub struct RedisStateStore {
    client: redis::Client,
    cfg: RedisConfig,
    prefix: String,
    idle: Mutex<Vec<Connection>>,
    /// Requests sent (see [`RedisStateStore::round_trips`]).
    round_trips: AtomicU64,
    check: Script,
    snap: Script,
    resolve: Script,
    nonce: Script,
    head: Script,
    heartbeat: Script,
}

impl std::fmt::Debug for RedisStateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStateStore")
            .field("gate_id", &self.cfg.gate_id)
            .field("timeout", &self.cfg.timeout)
            .finish_non_exhaustive()
    }
}

/// Escapes the characters that structure a key (`:` separates, `{` `}` mark the cluster hash
/// tag, `%` escapes), so distinct (subject, counter) pairs never share a key.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '%' => out.push_str("%25"),
            ':' => out.push_str("%3A"),
            '{' => out.push_str("%7B"),
            '}' => out.push_str("%7D"),
            c => out.push(c),
        }
    }
    out
}

fn unavailable(e: &redis::RedisError) -> Error {
    let what = if e.is_timeout() {
        "timed out".to_owned()
    } else {
        e.to_string()
    };
    Error::new(
        Code::StateUnavailable,
        format!("redis state store: {what}; failing closed"),
    )
}

fn malformed(what: &str) -> Error {
    Error::new(
        Code::StateUnavailable,
        format!("redis state store: unexpected reply to {what}; failing closed"),
    )
}

fn ints(v: &Value, what: &str) -> Result<Vec<i64>> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::Int(n) => Ok(*n),
                _ => Err(malformed(what)),
            })
            .collect(),
        _ => Err(malformed(what)),
    }
}

fn window_index(w: Window) -> usize {
    match w {
        Window::Minute => 1,
        Window::Hour => 2,
        Window::Day => 3,
        Window::Month => 4,
        Window::Total => 5,
    }
}

/// The end (exclusive, unix ms) of the month containing `now`.
fn month_end(now: Timestamp) -> i64 {
    // 32 days after the 1st is always in the next month.
    let start = Window::Month.start(now);
    Window::Month.start(Timestamp::from_unix_millis(start + 32 * DAY_MS))
}

fn clamp(v: i64) -> i64 {
    v.clamp(-MAX_EXACT, MAX_EXACT)
}

impl RedisStateStore {
    /// A store for `cfg`. Does not connect: the first call does (so a gate can start while
    /// Redis is down, and fails closed until it is up). Errors: `invalid_argument` for a bad
    /// URL.
    pub fn new(cfg: RedisConfig) -> Result<Self> {
        let bad_url =
            |e: redis::RedisError| Error::new(Code::InvalidArgument, format!("redis url: {e}"));
        // TCP_NODELAY (the client's default is off): each call is one small request awaiting
        // its answer, which Nagle's algorithm would only delay.
        let info = cfg
            .url
            .as_str()
            .into_connection_info()
            .map_err(bad_url)?
            .set_tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(true));
        let client = redis::Client::open(info).map_err(bad_url)?;
        if cfg.timeout.is_zero() {
            return Err(Error::new(
                Code::InvalidArgument,
                "redis timeout must be positive",
            ));
        }
        Ok(RedisStateStore {
            client,
            prefix: format!("modei:{}:", escape(&cfg.gate_id)),
            cfg,
            idle: Mutex::new(Vec::new()),
            round_trips: AtomicU64::new(0),
            check: Script::new(scripts::check_and_commit()),
            snap: Script::new(scripts::snapshot()),
            resolve: Script::new(scripts::resolve_hold()),
            nonce: Script::new(scripts::NONCE.to_owned()),
            head: Script::new(scripts::COMMIT_HEAD.to_owned()),
            heartbeat: Script::new(scripts::HEARTBEAT.to_owned()),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &RedisConfig {
        &self.cfg
    }

    /// The key prefix, `modei:<gate_id>:`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// One round trip to check the server (`PING`).
    pub fn ping(&self) -> Result<()> {
        let v = self.run(|c| redis::cmd("PING").query::<Value>(c))?;
        match v {
            Value::SimpleString(_) | Value::BulkString(_) | Value::Okay => Ok(()),
            _ => Err(malformed("PING")),
        }
    }

    /// Requests this store has sent to the server so far, each one round trip (a script the
    /// server had not cached counts two: `EVALSHA`, then `EVAL`). For metrics, and for tests
    /// that hold a gate check to its round-trip budget.
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    fn grace_ms(&self) -> i64 {
        i64::try_from(self.cfg.grace.as_millis())
            .unwrap_or(DAY_MS)
            .max(1000)
    }

    fn idle(&self) -> MutexGuard<'_, Vec<Connection>> {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn connect(&self) -> redis::RedisResult<Connection> {
        let t = self.cfg.timeout;
        let c = self.client.get_connection_with_timeout(t)?;
        c.set_read_timeout(Some(t))?;
        c.set_write_timeout(Some(t))?;
        Ok(c)
    }

    /// Runs `f` on a pooled connection. On any error the connection is dropped, and so are
    /// the idle ones; the next call connects afresh.
    fn run<T>(&self, f: impl FnOnce(&mut Connection) -> redis::RedisResult<T>) -> Result<T> {
        let pooled = self.idle().pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => self.connect().map_err(|e| unavailable(&e))?,
        };
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        match f(&mut conn) {
            Ok(v) => {
                let mut idle = self.idle();
                if idle.len() < self.cfg.max_idle {
                    idle.push(conn);
                }
                Ok(v)
            }
            Err(e) => {
                // A script or type error is a server answer on a healthy connection, but the
                // store still cannot decide: fail closed either way.
                if !matches!(e.kind(), ErrorKind::Server(_)) {
                    self.idle().clear();
                }
                Err(unavailable(&e))
            }
        }
    }

    /// `EVALSHA`, and `EVAL` when the server answers `NOSCRIPT` (first use after a start or a
    /// `SCRIPT FLUSH`; `EVAL` caches it again).
    fn eval(&self, s: &Script, keys: &[String], args: &[String]) -> Result<Value> {
        self.run(|c| {
            let build = |name: &str, body: &str| {
                let mut cmd = Cmd::new();
                cmd.arg(name).arg(body).arg(keys.len()).arg(keys).arg(args);
                cmd
            };
            match build("EVALSHA", &s.sha).query::<Value>(c) {
                Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                    self.round_trips.fetch_add(1, Ordering::Relaxed);
                    build("EVAL", &s.src).query::<Value>(c)
                }
                r => r,
            }
        })
    }

    /// The prefix of a subject's counter hashes (one per counter, a field per window).
    fn counter_prefix(&self, subject: &str) -> String {
        format!("{}c:{{{}}}:", self.prefix, escape(subject))
    }

    /// The arguments every counter script takes after its own: the starts of the minute,
    /// hour, day and month windows of `now`, then the counter's month TTL (ms to the month's
    /// end, plus grace).
    fn push_window_args(&self, args: &mut Vec<String>, now: Timestamp) {
        for w in [Window::Minute, Window::Hour, Window::Day, Window::Month] {
            args.push(w.start(now).to_string());
        }
        args.push((month_end(now) - now.unix_millis() + self.grace_ms()).to_string());
    }

    fn holds_prefix(&self, subject: &str) -> String {
        format!("{}h:{{{}}}:", self.prefix, escape(subject))
    }

    fn hold_index(&self, subject: &str) -> String {
        format!("{}hi:{{{}}}", self.prefix, escape(subject))
    }

    fn anomaly_key(&self, subject: &str) -> String {
        format!("{}a:{{{}}}", self.prefix, escape(subject))
    }

    /// The counter hash, the counter's holds, the subject's hold index and anomaly minutes.
    fn counter_keys(&self, subject: &str, counter: &str) -> Vec<String> {
        let counter = escape(counter);
        vec![
            format!("{}{counter}", self.counter_prefix(subject)),
            format!("{}{counter}", self.holds_prefix(subject)),
            self.hold_index(subject),
            self.anomaly_key(subject),
        ]
    }

    fn resolve_hold(
        &self,
        subject: &str,
        hold_id: &str,
        now: Timestamp,
        commit: bool,
    ) -> Result<bool> {
        let now_ms = now.unix_millis();
        let mut args = vec![
            hold_id.to_owned(),
            now_ms.to_string(),
            if commit { "1" } else { "0" }.to_owned(),
            self.holds_prefix(subject),
            self.counter_prefix(subject),
        ];
        self.push_window_args(&mut args, now);
        let v = self.eval(&self.resolve, &[self.hold_index(subject)], &args)?;
        match v {
            Value::Int(n) => Ok(n == 1),
            _ => Err(malformed("hold resolution")),
        }
    }

    /// `check_and_commit`, and with `chain` the head read in the same script.
    fn check(
        &self,
        r: &Reservation,
        chain: Option<&str>,
    ) -> Result<(CommitOutcome, Option<NextInChain>)> {
        if r.amount < 0 {
            return Err(Error::new(
                Code::InvalidArgument,
                "reservation amount must not be negative",
            ));
        }
        if r.amount > MAX_EXACT {
            return Err(Error::new(
                Code::InvalidArgument,
                "reservation amount exceeds 2^53 - 1 cents",
            ));
        }
        let now_ms = r.now.unix_millis();
        let mut keys = self.counter_keys(&r.subject, &r.counter);
        let (hold_id, hold_exp) = match &r.hold {
            Some(h) => {
                if h.id.is_empty() {
                    return Err(Error::new(
                        Code::InvalidArgument,
                        "hold id must not be empty",
                    ));
                }
                (h.id.clone(), h.expires_at.unix_millis())
            }
            None => (String::new(), 0),
        };
        let mut args = Vec::with_capacity(16 + 2 * (r.rates.len() + r.caps.len()));
        args.push(now_ms.to_string());
        args.push(r.amount.to_string());
        args.push(self.grace_ms().to_string());
        args.push(escape(&r.counter));
        args.push(hold_id);
        args.push(hold_exp.to_string());
        args.push(self.cfg.holds_per_counter.to_string());
        args.push(now_ms.div_euclid(MINUTE_MS).to_string());
        self.push_window_args(&mut args, r.now);
        args.push(r.rates.len().to_string());
        for rc in &r.rates {
            args.push(window_index(rc.window).to_string());
            args.push(clamp(i64::try_from(rc.limit).unwrap_or(i64::MAX)).to_string());
        }
        args.push(r.caps.len().to_string());
        for cap in &r.caps {
            args.push(window_index(cap.window).to_string());
            args.push(clamp(cap.cap).to_string());
        }
        let (v, head) = match chain {
            None => (self.eval(&self.check, &keys, &args)?, None),
            Some(chain) => {
                keys.push(self.chain_key(chain));
                match self.eval(&self.check, &keys, &args)? {
                    Value::Array(mut parts) if parts.len() == 3 => {
                        let hash = head_field(parts.pop())?;
                        let seq = head_field(parts.pop())?;
                        let seq = match seq {
                            None => None,
                            Some(s) => Some(s.parse::<u64>().map_err(|_| malformed("chain head"))?),
                        };
                        (
                            parts.pop().unwrap_or(Value::Nil),
                            Some(next_after(seq, hash)),
                        )
                    }
                    _ => return Err(malformed("check_and_commit")),
                }
            }
        };
        let v = ints(&v, "check_and_commit")?;
        let outcome = match v.first() {
            Some(1) => {
                let nr = r.rates.len();
                if v.len() != 1 + nr + r.caps.len() {
                    return Err(malformed("check_and_commit"));
                }
                Ok(Ok(Committed {
                    counts: v[1..1 + nr].iter().map(|&x| x.max(0) as u64).collect(),
                    spend: v[1 + nr..].to_vec(),
                }))
            }
            Some(0) => {
                let nr = r.rates.len();
                let (kind, idx, current) = match v[..] {
                    [_, k, i, c, ..] if v.len() == 4 + nr + r.caps.len() => (k, i, c),
                    _ => return Err(malformed("check_and_commit")),
                };
                let counts: Vec<u64> = v[4..4 + nr].iter().map(|&x| x.max(0) as u64).collect();
                let spend = v[4 + nr..].to_vec();
                let i = usize::try_from(idx - 1).map_err(|_| malformed("check_and_commit"))?;
                if kind == 1 {
                    let rc = r
                        .rates
                        .get(i)
                        .ok_or_else(|| malformed("check_and_commit"))?;
                    Ok(Err(Exceeded {
                        key: rc.key.clone(),
                        window: rc.window,
                        current,
                        requested: 1,
                        limit: i64::try_from(rc.limit).unwrap_or(i64::MAX),
                        counts,
                        spend,
                    }))
                } else {
                    let cap = r.caps.get(i).ok_or_else(|| malformed("check_and_commit"))?;
                    Ok(Err(Exceeded {
                        key: cap.key.clone(),
                        window: cap.window,
                        current,
                        requested: r.amount,
                        limit: cap.cap,
                        counts,
                        spend,
                    }))
                }
            }
            Some(-1) => Err(Error::new(
                Code::StateUnavailable,
                "too many open holds on this counter; failing closed",
            )),
            _ => Err(malformed("check_and_commit")),
        };
        Ok((outcome?, head))
    }

    fn chain_key(&self, chain: &str) -> String {
        format!("{}q:{{{}}}", self.prefix, escape(chain))
    }
}

/// The next record's `(sequence, previous hash)` from a chain head as stored (none: a new
/// chain starts at 1).
fn next_after(seq: Option<u64>, hash: Option<String>) -> NextInChain {
    match (seq, hash) {
        (Some(s), Some(h)) => (s.saturating_add(1), Some(h)),
        _ => (1, None),
    }
}

/// One field of the head the check script returns: `""` when the chain has none.
fn head_field(v: Option<Value>) -> Result<Option<String>> {
    match v {
        Some(Value::BulkString(b)) if b.is_empty() => Ok(None),
        Some(Value::BulkString(b)) => String::from_utf8(b)
            .map(Some)
            .map_err(|_| malformed("chain head")),
        _ => Err(malformed("chain head")),
    }
}

impl StateStore for RedisStateStore {
    fn snapshot(&self, subject: &str, counter: &str, now: Timestamp) -> Result<StateSnapshot> {
        let keys = self.counter_keys(subject, counter);
        let mut args = vec![
            now.unix_millis().to_string(),
            now.unix_millis().div_euclid(MINUTE_MS).to_string(),
        ];
        self.push_window_args(&mut args, now);
        let v = ints(&self.eval(&self.snap, &keys, &args)?, "snapshot")?;
        let [cm, ch, cd, sh, sd, smo, st, recent, base] = v[..] else {
            return Err(malformed("snapshot"));
        };
        let u = |x: i64| u64::try_from(x).unwrap_or(0);
        Ok(StateSnapshot {
            count_minute: u(cm),
            count_hour: u(ch),
            count_day: u(cd),
            spend_hour: sh,
            spend_day: sd,
            spend_month: smo,
            spend_total: st,
            recent_5m: u(recent),
            baseline_30m: u(base),
        })
    }

    fn check_and_commit(
        &self,
        r: &Reservation,
    ) -> Result<std::result::Result<Committed, Exceeded>> {
        Ok(self.check(r, None)?.0)
    }

    /// One script: the check and commit, then the chain head read (one round trip). In a
    /// cluster the chain must share the subject's slot; the gate's chain is the subject.
    fn check_and_commit_reading_head(
        &self,
        r: &Reservation,
        chain: &str,
    ) -> Result<(CommitOutcome, NextInChain)> {
        let (outcome, head) = self.check(r, Some(chain))?;
        Ok((outcome, head.ok_or_else(|| malformed("check_and_commit"))?))
    }

    fn release_hold(&self, subject: &str, hold_id: &str, now: Timestamp) -> Result<bool> {
        self.resolve_hold(subject, hold_id, now, false)
    }

    fn commit_hold(&self, subject: &str, hold_id: &str, now: Timestamp) -> Result<bool> {
        self.resolve_hold(subject, hold_id, now, true)
    }

    fn next_sequence(&self, chain: &str, expected: Option<u64>) -> Result<(u64, Option<String>)> {
        let key = self.chain_key(chain);
        let v = self.run(|c| {
            redis::cmd("HMGET")
                .arg(&key)
                .arg("seq")
                .arg("hash")
                .query::<(Option<u64>, Option<String>)>(c)
        })?;
        let (seq, prev) = next_after(v.0, v.1);
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
        if sequence > MAX_EXACT as u64 {
            return Err(Error::new(
                Code::InvalidArgument,
                "sequence exceeds 2^53 - 1",
            ));
        }
        let v = self.eval(
            &self.head,
            &[self.chain_key(chain)],
            &[sequence.to_string(), hash.to_owned()],
        )?;
        match v {
            Value::Int(n) => Ok(n == 1),
            _ => Err(malformed("commit_head")),
        }
    }

    fn check_nonce(
        &self,
        scope: &str,
        nonce: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool> {
        let key = format!("{}n:{{{}}}:{}", self.prefix, escape(scope), escape(nonce));
        let v = self.eval(
            &self.nonce,
            &[key],
            &[
                now.unix_millis().to_string(),
                expires_at.unix_millis().to_string(),
                self.grace_ms().to_string(),
            ],
        )?;
        match v {
            Value::Int(n) => Ok(n == 1),
            _ => Err(malformed("check_nonce")),
        }
    }

    fn record_heartbeat(&self, subject: &str, at: Timestamp) -> Result<()> {
        let key = format!("{}hb:{{{}}}", self.prefix, escape(subject));
        self.eval(&self.heartbeat, &[key], &[at.unix_millis().to_string()])
            .map(|_| ())
    }

    fn put_hold_record(
        &self,
        hold_id: &str,
        record: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool> {
        let key = format!("{}hr:{{{}}}", self.prefix, escape(hold_id));
        let ttl = (expires_at.unix_millis() - now.unix_millis()).max(1) + self.grace_ms();
        self.run(|c| {
            redis::cmd("SET")
                .arg(&key)
                .arg(record)
                .arg("PX")
                .arg(ttl)
                .query::<Value>(c)
        })?;
        Ok(true)
    }

    fn remove_hold_record(&self, hold_id: &str) -> Result<()> {
        let key = format!("{}hr:{{{}}}", self.prefix, escape(hold_id));
        self.run(|c| redis::cmd("DEL").arg(&key).query::<Value>(c))
            .map(|_| ())
    }

    fn get_hold_record(&self, hold_id: &str) -> Result<Option<String>> {
        let key = format!("{}hr:{{{}}}", self.prefix, escape(hold_id));
        match self.run(|c| redis::cmd("GET").arg(&key).query::<Value>(c))? {
            Value::Nil => Ok(None),
            v => String::from_redis_value(v)
                .map(Some)
                .map_err(|_| malformed("get_hold_record")),
        }
    }

    fn last_heartbeat(&self, subject: &str) -> Result<Option<Timestamp>> {
        let key = format!("{}hb:{{{}}}", self.prefix, escape(subject));
        let v = self.run(|c| redis::cmd("GET").arg(&key).query::<Value>(c))?;
        match v {
            Value::Nil => Ok(None),
            v => {
                let ms = i64::from_redis_value(v).map_err(|_| malformed("last_heartbeat"))?;
                Ok(Some(Timestamp::from_unix_millis(ms)))
            }
        }
    }
}
