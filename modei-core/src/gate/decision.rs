//! The gate's answer.

use crate::constraints::{Decision, Evaluation};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Serde for [`Decision`]: writes `allow` / `request_hold` / `block`; reads those and the
/// legacy `PERMIT` / `SUSPEND` / `BLOCK` / `deny` (and `permit`, `suspend`).
pub mod decision_serde {
    use super::*;

    /// Writes the canonical spelling.
    pub fn serialize<S: Serializer>(d: &Decision, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(d.as_str())
    }

    /// Reads canonical or legacy spellings.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decision, D::Error> {
        let s = String::deserialize(d)?;
        Decision::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown decision {s:?}")))
    }
}

/// How a decision was recorded in the attestation log: the decision itself, or for a hold
/// resolution `approved` / `denied`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recorded {
    /// `allow`.
    Allow,
    /// `request_hold`.
    RequestHold,
    /// `block`.
    Block,
    /// A held action, approved by an operator.
    Approved,
    /// A held action, denied by an operator.
    Denied,
}

impl Recorded {
    /// The attestation decision.
    pub fn attestation(self) -> crate::attestation::Decision {
        use crate::attestation::Decision as A;
        match self {
            Recorded::Allow => A::Allow,
            Recorded::RequestHold => A::RequestHold,
            Recorded::Block => A::Block,
            Recorded::Approved => A::Approved,
            Recorded::Denied => A::Denied,
        }
    }
}

/// One evaluator's result, as reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationRecord {
    /// The constraint key (or pipeline step).
    pub key: Arc<str>,
    /// `allow`, `request_hold` or `block`.
    #[serde(with = "decision_serde")]
    pub outcome: Decision,
    /// What was observed.
    pub observed: Value,
    /// The limit.
    pub limit: Value,
    /// A human sentence.
    pub detail: String,
}

impl From<Evaluation> for EvaluationRecord {
    fn from(e: Evaluation) -> Self {
        EvaluationRecord {
            key: e.key,
            outcome: e.outcome,
            observed: e.observed,
            limit: e.limit,
            detail: e.detail,
        }
    }
}

/// Where to send an anonymous caller for more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upgrade {
    /// The message.
    pub message: String,
    /// The URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A gate decision. Serialises to the JSON the CLI prints and the bindings return.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateDecision {
    /// `allow`, `request_hold` or `block`.
    #[serde(with = "decision_serde")]
    pub decision: Decision,
    /// The code or `core:*` key that decided (`None` for a plain allow).
    pub reason: Option<String>,
    /// A human sentence about the reason.
    pub detail: Option<String>,
    /// How the attestation records it (`approved` / `denied` for hold resolutions).
    pub recorded_as: Recorded,
    /// The constraint evaluations, in order (empty when an earlier step blocked).
    pub evaluations: Vec<EvaluationRecord>,
    /// The constraints in force (catalog × passport merged), including recorded terms.
    pub effective_constraints: Arc<Map<String, Value>>,
    /// The hold when `request_hold`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_id: Option<String>,
    /// When the hold lapses (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_expires_at: Option<String>,
    /// The verified passport id (`anon:<client id>` for anonymous requests).
    pub passport_id: Option<String>,
    /// The verified agent id.
    pub agent_id: Option<String>,
    /// The permission key that granted the action.
    pub permission: Option<String>,
    /// The canonical target.
    pub target: Option<String>,
    /// The request digest (see [`super::request_digest`]).
    pub request_digest: String,
    /// The decision instant (RFC 3339, ms).
    pub decided_at: String,
    /// Whether this was a dry run (no state changed, nothing attested).
    pub dry_run: bool,
    /// Whether the passport came from the warm cache.
    pub cached: bool,
    /// Things noticed without refusing (e.g. `revocation_stale` at L2).
    pub warnings: Vec<String>,
    /// For anonymous requests: where to get a passport.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<Upgrade>,
    /// The signed attestation record (its JSON form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<Value>,
    /// A signed checkpoint of the passport's chain after this record, for the agent to keep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Value>,
}

impl GateDecision {
    /// `decision == allow`.
    pub fn is_allowed(&self) -> bool {
        self.decision == Decision::Allow
    }

    /// The JSON value.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Reads a decision back (legacy decision spellings accepted).
    pub fn from_value(v: Value) -> crate::Result<GateDecision> {
        serde_json::from_value(v)
            .map_err(|e| crate::Error::new(crate::Code::InvalidArgument, e.to_string()))
    }
}
