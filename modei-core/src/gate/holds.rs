//! Holds: requests waiting for a person, and the hook that tells one.

use crate::time::Timestamp;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// A pending hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// `appr_...`.
    pub hold_id: String,
    /// The held request's digest; an approval must name it and the re-presented request must
    /// have it.
    pub request_digest: String,
    /// The passport (state-store subject).
    pub passport_id: String,
    /// The agent.
    pub agent_id: String,
    /// The action.
    pub action: String,
    /// The canonical target.
    pub target: Option<String>,
    /// The permission counter the spend is reserved under.
    pub permission: String,
    /// Reserved cents.
    pub reserved_cents: i64,
    /// The key that asked for the hold.
    pub reason: String,
    /// Its human sentence.
    pub detail: String,
    /// When the hold was created.
    pub created_at: Timestamp,
    /// When it lapses (an automatic deny; the reservation is released).
    pub expires_at: Timestamp,
}

/// How a hold ended.
impl Hold {
    /// The record replicas share through the state store (JSON; times in Unix ms).
    pub fn to_record(&self) -> String {
        serde_json::json!({
            "hold_id": self.hold_id, "request_digest": self.request_digest,
            "passport_id": self.passport_id, "agent_id": self.agent_id, "action": self.action,
            "target": self.target, "permission": self.permission,
            "reserved_cents": self.reserved_cents, "reason": self.reason, "detail": self.detail,
            "created_at_ms": self.created_at.unix_millis(),
            "expires_at_ms": self.expires_at.unix_millis(),
        })
        .to_string()
    }

    /// Reads a record written by [`Hold::to_record`]; `None` if it is not one.
    pub fn from_record(text: &str) -> Option<Hold> {
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        let s = |k: &str| v.get(k)?.as_str().map(str::to_owned);
        let ms = |k: &str| v.get(k)?.as_i64().map(Timestamp::from_unix_millis);
        Some(Hold {
            hold_id: s("hold_id")?,
            request_digest: s("request_digest")?,
            passport_id: s("passport_id")?,
            agent_id: s("agent_id")?,
            action: s("action")?,
            target: match v.get("target")? {
                serde_json::Value::Null => None,
                t => Some(t.as_str()?.to_owned()),
            },
            permission: s("permission")?,
            reserved_cents: v.get("reserved_cents")?.as_i64()?,
            reason: s("reason")?,
            detail: s("detail")?,
            created_at: ms("created_at_ms")?,
            expires_at: ms("expires_at_ms")?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldOutcome {
    /// Approved and the request re-presented: the spend is committed.
    Approved,
    /// Denied by an operator: the reservation is released.
    Denied,
    /// Lapsed: the reservation is released.
    Expired,
}

/// Delivers holds to a person (SMS, chat, a web page...). The gate calls it after the hold is
/// recorded and outside its locks; implementations should hand off quickly (queue, channel)
/// and never block on a network call. Errors are the implementation's business: a hold that
/// is never delivered simply expires.
pub trait HoldNotifier: Send + Sync {
    /// A new hold needs a decision before `hold.expires_at`.
    fn on_hold(&self, hold: &Hold);
    /// A hold ended (default: nothing).
    fn on_resolved(&self, _hold: &Hold, _outcome: HoldOutcome) {}
}

/// The open holds of a gate (bounded).
#[derive(Debug, Default)]
pub(crate) struct HoldTable {
    map: Mutex<HashMap<String, Hold>>,
}

impl HoldTable {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Hold>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Inserts; when full, first drops the expired ones. `false` if still full.
    pub(crate) fn insert(&self, hold: Hold, max: usize, now: Timestamp) -> (bool, Vec<Hold>) {
        let mut m = self.lock();
        let mut expired = Vec::new();
        if m.len() >= max && !m.contains_key(&hold.hold_id) {
            let ids: Vec<String> = m
                .iter()
                .filter(|(_, h)| h.expires_at <= now)
                .map(|(k, _)| k.clone())
                .collect();
            for id in ids {
                if let Some(h) = m.remove(&id) {
                    expired.push(h);
                }
            }
            if m.len() >= max {
                return (false, expired);
            }
        }
        m.insert(hold.hold_id.clone(), hold);
        (true, expired)
    }

    pub(crate) fn get(&self, id: &str) -> Option<Hold> {
        self.lock().get(id).cloned()
    }

    pub(crate) fn remove(&self, id: &str) -> Option<Hold> {
        self.lock().remove(id)
    }

    pub(crate) fn take_expired(&self, now: Timestamp) -> Vec<Hold> {
        let mut m = self.lock();
        let ids: Vec<String> = m
            .iter()
            .filter(|(_, h)| h.expires_at <= now)
            .map(|(k, _)| k.clone())
            .collect();
        ids.iter().filter_map(|id| m.remove(id)).collect()
    }

    pub(crate) fn all(&self) -> Vec<Hold> {
        let mut v: Vec<Hold> = self.lock().values().cloned().collect();
        v.sort_by(|a, b| (a.created_at, &a.hold_id).cmp(&(b.created_at, &b.hold_id)));
        v
    }
}
