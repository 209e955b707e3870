//! Prepared constraint sets shared by content.
//!
//! Passports are usually issued from a few templates: thousands of agents carry the same
//! constraints for a permission. Parsing those constraints (domain patterns, CEL rules, limits)
//! and keeping a copy of them on every cached passport was a large part of a passport's first
//! sight, so the gate keeps each distinct prepared set once and hands out `Arc`s.
//!
//! A set is found by a keyed hash of the passport's constraints (and of the catalog entry they
//! were merged with) and used only when the stored source is *equal* to the passport's, so a
//! hash collision can cost a lookup, never apply another passport's terms. Passports whose
//! constraints had the same text share one decoded object (`crate::interned`); those are found
//! first by that object's address, without hashing, in an index of the sets by the address of
//! the object each holds (the set keeps it alive, so no other object can have that address
//! while the entry exists). Bounded: when
//! `capacity` distinct sets are kept, the table starts over (a set in use lives on in the
//! passports that hold it).

use crate::catalog::CatalogPin;
use crate::constraints::ConstraintSet;
use serde_json::{Map, Value};
#[cfg(feature = "shared-sets")]
use std::collections::hash_map::RandomState;
#[cfg(feature = "shared-sets")]
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
#[cfg(feature = "shared-sets")]
use std::sync::RwLock;

/// One permission's constraints, prepared: shared by every passport with the same content.
pub(crate) struct SharedSet {
    pub(crate) set: ConstraintSet,
    /// What was enforced: the passport's constraints, or their merge with the catalog's.
    pub(crate) effective: Arc<Map<String, Value>>,
    pub(crate) has_fail_closed: bool,
    /// The catalog entry merged in (its catalog's pin and index), if any.
    #[cfg(feature = "shared-sets")]
    catalog: Option<(CatalogPin, usize)>,
    /// The passport's constraints this was prepared from (only kept when a catalog was merged;
    /// otherwise they are `effective`).
    #[cfg(feature = "shared-sets")]
    source: Option<Arc<Map<String, Value>>>,
}

impl SharedSet {
    pub(crate) fn new(
        set: ConstraintSet,
        effective: Arc<Map<String, Value>>,
        catalog: Option<(CatalogPin, usize)>,
        source: &Arc<Map<String, Value>>,
    ) -> Self {
        #[cfg(not(feature = "shared-sets"))]
        let _ = (catalog, source);
        SharedSet {
            set,
            has_fail_closed: effective.contains_key("core:safety:fail_closed"),
            #[cfg(feature = "shared-sets")]
            source: catalog.as_ref().map(|_| source.clone()),
            effective,
            #[cfg(feature = "shared-sets")]
            catalog,
        }
    }

    #[cfg(feature = "shared-sets")]
    fn is_for(
        &self,
        source: &Arc<Map<String, Value>>,
        catalog: Option<(&CatalogPin, usize)>,
    ) -> bool {
        let same_catalog = match (&self.catalog, catalog) {
            (None, None) => true,
            (Some((p, i)), Some((q, j))) => p == q && *i == j,
            _ => false,
        };
        // Passports whose constraints had the same text share one decoded object
        // (`crate::interned`): then identity answers without comparing.
        let mine = self.mine();
        same_catalog && (Arc::ptr_eq(mine, source) || mine == source)
    }

    /// The passport constraints this set was prepared from.
    #[cfg(feature = "shared-sets")]
    fn mine(&self) -> &Arc<Map<String, Value>> {
        self.source.as_ref().unwrap_or(&self.effective)
    }
}

/// Sets sorted by hash (a sorted `Vec` rather than a `HashMap`: as fast at this size, and less
/// code).
#[cfg(feature = "shared-sets")]
pub(crate) struct ConstraintSets {
    capacity: usize,
    hasher: RandomState,
    sets: RwLock<Tables>,
}

/// The sets by content hash, and the same sets by the address of the object they were
/// prepared from.
#[cfg(feature = "shared-sets")]
#[derive(Default)]
struct Tables {
    by_hash: Vec<(u64, Arc<SharedSet>)>,
    by_address: Vec<(usize, Arc<SharedSet>)>,
}

/// Sets sharing one hash (only a collision puts two there).
#[cfg(feature = "shared-sets")]
const MAX_PER_HASH: usize = 8;

#[cfg(feature = "shared-sets")]
impl ConstraintSets {
    pub(crate) fn new(capacity: usize) -> Self {
        ConstraintSets {
            capacity: capacity.max(1),
            hasher: RandomState::new(),
            sets: RwLock::new(Tables::default()),
        }
    }

    /// The set prepared from this very object (not an equal one) and catalog entry, found
    /// without hashing.
    pub(crate) fn by_identity(
        &self,
        source: &Arc<Map<String, Value>>,
        catalog: Option<(&CatalogPin, usize)>,
    ) -> Option<Arc<SharedSet>> {
        let t = self.sets.read().ok()?;
        run(&t.by_address, address(source))
            .iter()
            .find(|(_, s)| Arc::ptr_eq(s.mine(), source) && s.is_for(source, catalog))
            .map(|(_, s)| s.clone())
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
        source: &Arc<Map<String, Value>>,
        catalog: Option<(&CatalogPin, usize)>,
    ) -> Option<Arc<SharedSet>> {
        let t = self.sets.read().ok()?;
        run(&t.by_hash, hash)
            .iter()
            .find(|(_, s)| s.is_for(source, catalog))
            .map(|(_, s)| s.clone())
    }

    pub(crate) fn insert(&self, hash: u64, set: Arc<SharedSet>) {
        let Ok(mut t) = self.sets.write() else { return };
        if t.by_hash.len() >= self.capacity {
            t.by_hash.clear();
            t.by_address.clear();
        }
        if run(&t.by_hash, hash).len() < MAX_PER_HASH {
            let from = t.by_hash.partition_point(|(h, _)| *h < hash);
            t.by_hash.insert(from, (hash, set.clone()));
            let at = address(set.mine());
            let from = t.by_address.partition_point(|(a, _)| *a < at);
            t.by_address.insert(from, (at, set));
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.sets.read().map(|t| t.by_hash.len()).unwrap_or(0)
    }
}

/// Without the `shared-sets` feature (the WebAssembly build, for size): nothing is kept, every
/// passport's constraints are prepared for it alone.
#[cfg(not(feature = "shared-sets"))]
pub(crate) struct ConstraintSets;

#[cfg(not(feature = "shared-sets"))]
impl ConstraintSets {
    pub(crate) fn new(_capacity: usize) -> Self {
        ConstraintSets
    }
    pub(crate) fn hash(&self, _: &Map<String, Value>, _: Option<(&CatalogPin, usize)>) -> u64 {
        0
    }
    pub(crate) fn get(
        &self,
        _: u64,
        _: &Arc<Map<String, Value>>,
        _: Option<(&CatalogPin, usize)>,
    ) -> Option<Arc<SharedSet>> {
        None
    }
    pub(crate) fn insert(&self, _: u64, _: Arc<SharedSet>) {}
    pub(crate) fn by_identity(
        &self,
        _: &Arc<Map<String, Value>>,
        _: Option<(&CatalogPin, usize)>,
    ) -> Option<Arc<SharedSet>> {
        None
    }
}

/// The entries of a table sorted by key whose key is `key`.
#[cfg(feature = "shared-sets")]
fn run<K: Ord + Copy>(table: &[(K, Arc<SharedSet>)], key: K) -> &[(K, Arc<SharedSet>)] {
    let from = table.partition_point(|(k, _)| *k < key);
    let rest = table.get(from..).unwrap_or_default();
    let len = rest.iter().take_while(|(k, _)| *k == key).count();
    rest.get(..len).unwrap_or_default()
}

/// The address of the object an `Arc` points to.
#[cfg(feature = "shared-sets")]
fn address(a: &Arc<Map<String, Value>>) -> usize {
    Arc::as_ptr(a) as usize
}

/// Feeds a JSON object to `h` so that equal objects hash equally (members in the map's order,
/// which is sorted; numbers by their exact representation).
#[cfg(feature = "shared-sets")]
fn hash_map(h: &mut impl Hasher, m: &Map<String, Value>) {
    h.write_usize(m.len());
    for (k, v) in m {
        h.write(k.as_bytes());
        h.write_u8(0xff);
        hash_value(h, v);
    }
}

#[cfg(feature = "shared-sets")]
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

#[cfg(all(test, feature = "shared-sets"))]
mod tests {
    use super::*;
    use crate::constraints::Enforcer;
    use serde_json::json;

    fn obj(v: Value) -> Arc<Map<String, Value>> {
        Arc::new(v.as_object().cloned().unwrap())
    }

    fn shared(source: &Arc<Map<String, Value>>, catalog: Option<(CatalogPin, usize)>) -> SharedSet {
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
        assert_eq!(found.effective, a);
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
    fn by_identity_finds_only_the_object_a_set_was_prepared_from() {
        let sets = ConstraintSets::new(16);
        let a = obj(json!({"core:cost:max_per_action": 500}));
        assert!(sets.by_identity(&a, None).is_none());
        sets.insert(sets.hash(&a, None), Arc::new(shared(&a, None)));
        let found = sets.by_identity(&a, None).expect("the same object");
        assert!(Arc::ptr_eq(&found.effective, &a));
        // An equal object elsewhere is found by hash, not by identity.
        let a2 = obj(json!({"core:cost:max_per_action": 500}));
        assert!(sets.by_identity(&a2, None).is_none());
        assert!(sets.get(sets.hash(&a2, None), &a2, None).is_some());
        // The same object under a catalog entry is another set.
        let pin = CatalogPin {
            gate_id: "g".into(),
            version: 1,
            content_hash: None,
        };
        assert!(sets.by_identity(&a, Some((&pin, 0))).is_none());
        sets.insert(
            sets.hash(&a, Some((&pin, 0))),
            Arc::new(shared(&a, Some((pin.clone(), 0)))),
        );
        assert!(sets.by_identity(&a, Some((&pin, 0))).is_some());
        assert!(sets.by_identity(&a, Some((&pin, 1))).is_none());
        assert!(sets.by_identity(&a, None).is_some());
        // Starting over empties the index too.
        let small = ConstraintSets::new(1);
        small.insert(small.hash(&a, None), Arc::new(shared(&a, None)));
        small.insert(small.hash(&a2, None), Arc::new(shared(&a2, None)));
        assert!(small.by_identity(&a, None).is_none());
        assert!(small.by_identity(&a2, None).is_some());
    }

    #[test]
    fn colliding_sets_are_told_apart_by_content() {
        let sets = ConstraintSets::new(64);
        let maps: Vec<_> = (0..10)
            .map(|i| obj(json!({ "core:cost:max_per_action": i })))
            .collect();
        // Every set under one hash, as a collision would put them, between other hashes.
        sets.insert(1, Arc::new(shared(&maps[0], None)));
        sets.insert(9, Arc::new(shared(&maps[0], None)));
        for m in &maps {
            sets.insert(5, Arc::new(shared(m, None)));
        }
        for (i, m) in maps.iter().enumerate() {
            let found = sets.get(5, m, None);
            // At most eight sets share a hash; the rest are prepared per passport.
            assert_eq!(found.is_some(), i < MAX_PER_HASH, "{i}");
            if let Some(f) = found {
                assert_eq!(f.effective, *m);
            }
        }
        assert!(sets.get(1, &maps[0], None).is_some());
        assert!(sets.get(1, &maps[1], None).is_none());
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
