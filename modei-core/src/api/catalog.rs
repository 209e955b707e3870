//! Permission catalogs: verify, diff, pin checks. See `docs/api.md` § Catalogs.

use super::attestation::gate_keys_from;
use super::{invalid, parse_json};
use crate::catalog::{diff, Catalog, CatalogSet};
use crate::error::Result;
use serde_json::{Map, Value};

/// Reads a published catalog (JSON text), checks its content hash and its signature against
/// `gate_keys` (`[{"gate_id","key_id","public_key"}]`). Returns the catalog's JSON value with
/// `"content_hash"`. Failures: `catalog_malformed`, `catalog_hash_mismatch`,
/// `catalog_signature_invalid`, `key_unknown`.
pub fn verify(catalog: &[u8], gate_keys: &Value) -> Result<Value> {
    let keys = gate_keys_from(gate_keys)?;
    let c = Catalog::verify_json(catalog, &keys)?;
    parse_json(&c.to_json())
}

/// Changes from `old` to `new` (both published catalog JSON text, hashes checked, signatures
/// not): `{"from_version","to_version","has_breaking_changes","changes":[{...,"breaking"}]}`.
pub fn diff_json(old: &[u8], new: &[u8]) -> Result<Value> {
    let a = Catalog::from_json(old)?;
    let b = Catalog::from_json(new)?;
    Ok(diff(&a, &b).to_value())
}

/// A gate's set of published catalogs, for pin checks.
#[derive(Debug, Clone)]
pub struct CatalogSetHandle {
    set: CatalogSet,
}

impl CatalogSetHandle {
    /// From published catalogs (JSON values) of gate `gate_id`, signatures checked against
    /// `gate_keys`.
    pub fn new(gate_id: &str, catalogs: &[Value], gate_keys: &Value) -> Result<Self> {
        let keys = gate_keys_from(gate_keys)?;
        let mut set = CatalogSet::new(gate_id);
        for c in catalogs {
            let cat = Catalog::verify_json(&crate::canonical::canonicalize(c), &keys)?;
            set.insert(cat)?;
        }
        Ok(CatalogSetHandle { set })
    }

    /// Checks a passport's pin `{"gate_id","version","content_hash"?}` against the current
    /// catalog: the pinned catalog's `{"version","content_hash"}`, or `catalog_pin_unknown` /
    /// `catalog_pin_incompatible`.
    pub fn check_pin(&self, pin: &Value) -> Result<Value> {
        let gate_id = super::req_str(pin, "gate_id")?;
        let version = super::opt_i64(pin, "version")?
            .and_then(|v| u64::try_from(v).ok())
            .ok_or_else(|| invalid("version: required non-negative integer"))?;
        let hash = super::opt_str(pin, "content_hash")?;
        let c = self.set.check_pin(gate_id, version, hash)?;
        let mut m = Map::new();
        m.insert("version".into(), c.version().into());
        m.insert(
            "content_hash".into(),
            Value::String(c.content_hash().to_owned()),
        );
        Ok(Value::Object(m))
    }

    /// The current version, if any.
    pub fn current_version(&self) -> Option<u64> {
        self.set.current().map(Catalog::version)
    }
}
