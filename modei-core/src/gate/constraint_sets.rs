//! Prepared constraint sets shared by content.
//!
//! Passports are usually issued from a few templates: thousands of agents carry the same
//! constraints for a permission. Parsing those constraints (domain patterns, CEL rules, limits)
//! and keeping a copy of them on every cached passport was a large part of a passport's first
//! sight, so the gate keeps each distinct prepared set once and hands out `Arc`s.
//!
//! A set is found by a keyed hash of the passport's constraints (and of the catalog entry they
//! were merged with) and used only when the stored source is *equal* to the passport's, so a
//! hash collision can cost a lookup, never apply another passport's terms. Bounded: when
//! `capacity` distinct sets are kept, the table starts over (a set in use lives on in the
//! passports that hold it).

use crate::catalog::CatalogPin;
use crate::constraints::ConstraintSet;
use serde_json::{Map, Value};
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, RwLock};

/// One permission's constraints, prepared: shared by every passport with the same content.
pub(crate) struct SharedSet {
    pub(crate) set: ConstraintSet,
    /// What was enforced: the passport's constraints, or their merge with the catalog's.
    pub(crate) effective: Arc<Map<String, Value>>,
    pub(crate) has_fail_closed: bool,
    /// The catalog entry merged in (its catalog's pin and index), if any.
    catalog: Option<(CatalogPin, usize)>,
    /// The passport's constraints this was prepared from (only kept when a catalog was merged;
    /// otherwise they are `effective`).
    source: Option<Map<String, Value>>,
}

impl SharedSet {
    pub(crate) fn new(
        set: ConstraintSet,
        effective: Map<String, Value>,
        catalog: Option<(CatalogPin, usize)>,
        source: &Map<String, Value>,
    ) -> Self {
        SharedSet {
            set,
            has_fail_closed: effective.contains_key("core:safety:fail_closed"),
            source: catalog.as_ref().map(|_| source.clone()),
            effective: Arc::new(effective),
            catalog,
        }
    }

    fn is_for(&self, source: &Map<String, Value>, catalog: Option<(&CatalogPin, usize)>) -> bool {
        let same_catalog = match (&self.catalog, catalog) {
            (None, None) => true,
            (Some((p, i)), Some((q, j))) => p == q && *i == j,
            _ => false,
        };
        same_catalog && self.source.as_ref().unwrap_or(&self.effective) == source
    }
}

pub(crate) struct ConstraintSets {
    capacity: usize,
    hasher: RandomState,
    map: RwLock<HashMap<u64, Vec<Arc<SharedSet>>>>,
}

impl ConstraintSets {
    pub(crate) fn new(capacity: usize) -> Self {
        ConstraintSets {
            capacity: capacity.max(1),
            hasher: RandomState::new(),
            map: RwLock::new(HashMap::new()),
        }
    }

    pub(crate) fn hash(
        &self,
        source: &Map<String, Value>,
        catalog: Option<(&CatalogPin, usize)>,
    ) -> u64 {
        let mut h = self.hasher.build_hasher();
        if let Some((pin, i)) = catalog {
            h.write_u8(1);
            h.write(pin.gate_id.as_bytes());
            h.write_u64(pin.version);
            h.write(pin.content_hash.as_deref().unwrap_or_default().as_bytes());
            h.write_usize(i);
        }
        hash_map(&mut h, source);
        h.finish()
    }

    pub(crate) fn get(
        &self,
        hash: u64,
        source: &Map<String, Value>,
        catalog: Option<(&CatalogPin, usize)>,
    ) -> Option<Arc<SharedSet>> {
        let m = self.map.read().ok()?;
        m.get(&hash)?
            .iter()
            .find(|s| s.is_for(source, catalog))
            .cloned()
    }

    pub(crate) fn insert(&self, hash: u64, set: Arc<SharedSet>) {
        let Ok(mut m) = self.map.write() else { return };
        if m.len() >= self.capacity && !m.contains_key(&hash) {
            m.clear();
        }
        let bucket = m.entry(hash).or_default();
        // Sets colliding on one hash are few; bound them anyway.
        if bucket.len() < 8 {
            bucket.push(set);
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.read().map(|m| m.len()).unwrap_or(0)
    }
}

/// Feeds a JSON object to `h` so that equal objects hash equally (members in the map's order,
/// which is sorted; numbers by their exact representation).
fn hash_map(h: &mut impl Hasher, m: &Map<String, Value>) {
    h.write_usize(m.len());
    for (k, v) in m {
        h.write(k.as_bytes());
        h.write_u8(0xff);
        hash_value(h, v);
    }
}

fn hash_value(h: &mut impl Hasher, v: &Value) {
    match v {
        Value::Null => h.write_u8(0),
        Value::Bool(b) => h.write_u8(1 + u8::from(*b)),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                h.write_u8(3);
                h.write_u64(u);
            } else if let Some(i) = n.as_i64() {
                h.write_u8(4);
                h.write_i64(i);
            } else {
                h.write_u8(5);
                h.write_u64(n.as_f64().unwrap_or(0.0).to_bits());
            }
        }
        Value::String(s) => {
            h.write_u8(6);
            h.write(s.as_bytes());
            h.write_u8(0xff);
        }
        Value::Array(a) => {
            h.write_u8(7);
            h.write_usize(a.len());
            for x in a {
                hash_value(h, x);
            }
        }
        Value::Object(o) => {
            h.write_u8(8);
            hash_map(h, o);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::constraints::Enforcer;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn shared(source: &Map<String, Value>, catalog: Option<(CatalogPin, usize)>) -> SharedSet {
        let e = Enforcer::new();
        SharedSet::new(e.parse(source).unwrap(), source.clone(), catalog, source)
    }

    #[test]
    fn a_set_is_found_only_for_equal_constraints_and_the_same_catalog_entry() {
        let sets = ConstraintSets::new(16);
        let a = obj(
            json!({"core:cost:max_per_action": 500, "core:scope:domain_allowlist": ["*.example.com"]}),
        );
        let h = sets.hash(&a, None);
        assert!(sets.get(h, &a, None).is_none());
        sets.insert(h, Arc::new(shared(&a, None)));
        let found = sets.get(h, &a, None).expect("hit");
        assert_eq!(*found.effective, a);
        // Equal content from another parse: the same hash and a hit.
        let a2 = obj(
            json!({"core:scope:domain_allowlist": ["*.example.com"], "core:cost:max_per_action": 500}),
        );
        assert_eq!(sets.hash(&a2, None), h);
        assert!(sets.get(h, &a2, None).is_some());
        // Anything different is not the same set, even if presented under the same hash.
        for other in [
            json!({"core:cost:max_per_action": 501, "core:scope:domain_allowlist": ["*.example.com"]}),
            json!({"core:cost:max_per_action": 500.0, "core:scope:domain_allowlist": ["*.example.com"]}),
            json!({"core:cost:max_per_action": 500}),
        ] {
            let o = obj(other);
            assert_ne!(sets.hash(&o, None), h);
            assert!(sets.get(h, &o, None).is_none(), "{o:?}");
        }
        // The same constraints merged with a catalog entry are another set.
        let pin = CatalogPin {
            gate_id: "g".into(),
            version: 1,
            content_hash: Some("ab".into()),
        };
        assert_ne!(sets.hash(&a, Some((&pin, 0))), h);
        assert!(sets.get(h, &a, Some((&pin, 0))).is_none());
        let hc = sets.hash(&a, Some((&pin, 0)));
        sets.insert(hc, Arc::new(shared(&a, Some((pin.clone(), 0)))));
        assert!(sets.get(hc, &a, Some((&pin, 0))).is_some());
        assert!(sets.get(hc, &a, Some((&pin, 1))).is_none());
        let pin2 = CatalogPin {
            version: 2,
            ..pin.clone()
        };
        assert!(sets.get(hc, &a, Some((&pin2, 0))).is_none());
    }

    #[test]
    fn the_table_is_bounded() {
        let sets = ConstraintSets::new(4);
        for i in 0..10 {
            let m = obj(json!({ "core:cost:max_per_action": i }));
            sets.insert(sets.hash(&m, None), Arc::new(shared(&m, None)));
            assert!(sets.len() <= 4);
        }
    }
}
