//! Constraint objects shared between passports by their exact JSON text.
//!
//! Passports are usually issued from a few templates, so thousands of tokens carry the same
//! constraint object byte for byte. A [`crate::passport::Verifier`] keeps the ones it decoded
//! and, on meeting the same text again, hands out the same `Arc` instead of parsing it again:
//! no parse, no allocation per key and value, and nothing to free when the passport is dropped.
//!
//! Only texts the strict reader accepted, in passports that then verified, are kept (so no
//! unauthenticated token can fill or churn the table), and a hit needs the exact bytes, which the
//! strict reader would read to the same value and stop at the same place (a JSON value ends at
//! its own closing bracket, whatever follows). Bounded: at most [`CAPACITY`] texts of at most
//! [`MAX_TEXT`] bytes; when full the table starts over (objects in use live on in the passports
//! holding them). The table is freed outside its lock, like the gate's passport cache.

use serde_json::{Map, Value};
use std::sync::Arc;

/// Distinct constraint objects kept.
#[cfg_attr(not(feature = "shared-sets"), allow(dead_code))]
pub const CAPACITY: usize = 512;
/// Longest constraint object text kept (longer ones are parsed every time).
#[cfg_attr(not(feature = "shared-sets"), allow(dead_code))]
pub const MAX_TEXT: usize = 4096;

/// A constraint object, shared.
pub type SharedMap = Arc<Map<String, Value>>;

/// Texts tried first, by prefix, before finding a text's end and hashing it.
#[cfg_attr(not(feature = "shared-sets"), allow(dead_code))]
const RECENT: usize = 8;

#[cfg(feature = "shared-sets")]
#[derive(Default)]
struct Table {
    by_text: std::collections::HashMap<Arc<[u8]>, SharedMap>,
    /// The last [`RECENT`] texts kept (a gate's templates, in the usual case), oldest first.
    recent: std::collections::VecDeque<(Arc<[u8]>, SharedMap)>,
}

/// The table (cheap to clone: clones share it). Without the `shared-sets` feature it keeps
/// nothing and every object is parsed (the WebAssembly build saves the code).
#[derive(Clone, Default)]
pub(crate) struct Interned {
    #[cfg(feature = "shared-sets")]
    table: Arc<std::sync::RwLock<Table>>,
}

impl Interned {
    /// Whether lookups can ever hit (callers skip finding the text's end otherwise).
    pub(crate) const ENABLED: bool = cfg!(feature = "shared-sets");

    /// The kept object at `start` of the claims text `s`, and where it ends, under one read
    /// of the table. First the recent texts, by prefix: a JSON object ends at its own closing
    /// bracket, so when the rest of `s` starts with a complete object's text, the object there
    /// *is* that text (the strict reader would read the same value and stop at the same place),
    /// which spares finding the object's end and hashing it. Then any kept text, by the exact
    /// bytes of the object there.
    pub(crate) fn find(&self, s: &[u8], start: usize) -> Option<(SharedMap, usize)> {
        #[cfg(feature = "shared-sets")]
        {
            let rest = s.get(start..)?;
            let t = self.table.read().ok()?;
            if let Some((text, map)) = t.recent.iter().rev().find(|(t, _)| rest.starts_with(t)) {
                return Some((map.clone(), start + text.len()));
            }
            let end = crate::json::container_end(s, start)?;
            t.by_text.get(s.get(start..end)?).map(|m| (m.clone(), end))
        }
        #[cfg(not(feature = "shared-sets"))]
        {
            let _ = (s, start);
            None
        }
    }

    /// Keeps `map`, the strict reader's value of exactly `text`.
    pub(crate) fn insert(&self, text: &[u8], map: &SharedMap) {
        #[cfg(feature = "shared-sets")]
        {
            if text.len() > MAX_TEXT {
                return;
            }
            let Ok(mut t) = self.table.write() else {
                return;
            };
            let old = (t.by_text.len() >= CAPACITY).then(|| std::mem::take(&mut *t));
            let text: Arc<[u8]> = text.into();
            if t.recent.len() >= RECENT {
                t.recent.pop_front();
            }
            t.recent.push_back((text.clone(), map.clone()));
            t.by_text.insert(text, map.clone());
            drop(t);
            drop(old);
        }
        #[cfg(not(feature = "shared-sets"))]
        let _ = (text, map);
    }

    #[cfg(all(test, feature = "shared-sets"))]
    pub(crate) fn len(&self) -> usize {
        self.table.read().map(|t| t.by_text.len()).unwrap_or(0)
    }
}

/// One decode's use of the table: lookups, and the objects it had to parse, kept only when the
/// caller says the passport verified ([`Interning::keep`]).
pub(crate) struct Interning<'a> {
    table: &'a Interned,
    fresh: std::cell::RefCell<Vec<(Box<[u8]>, SharedMap)>>,
}

impl<'a> Interning<'a> {
    pub(crate) fn new(table: &'a Interned) -> Self {
        Interning {
            table,
            fresh: Default::default(),
        }
    }

    /// See [`Interned::find`].
    pub(crate) fn find(&self, s: &[u8], start: usize) -> Option<(SharedMap, usize)> {
        self.table.find(s, start)
    }

    /// `map` was read from `text`: keep it if the passport verifies.
    pub(crate) fn parsed(&self, text: &[u8], map: &SharedMap) {
        if Interned::ENABLED && text.len() <= MAX_TEXT {
            if let Ok(mut f) = self.fresh.try_borrow_mut() {
                f.push((text.into(), map.clone()));
            }
        }
    }

    /// The passport verified: keep what was parsed for it.
    pub(crate) fn keep(self) {
        for (text, map) in self.fresh.into_inner() {
            self.table.insert(&text, &map);
        }
    }
}

#[cfg(all(test, feature = "shared-sets"))]
mod tests {
    use super::*;

    fn map(n: i64) -> SharedMap {
        Arc::new(
            serde_json::json!({ "core:rate:max_per_minute": n })
                .as_object()
                .cloned()
                .unwrap(),
        )
    }

    /// The object kept for exactly `text`.
    fn get(i: &Interned, text: &[u8]) -> Option<SharedMap> {
        i.find(text, 0).map(|(m, _)| m)
    }

    #[test]
    fn hits_need_the_exact_text() {
        let i = Interned::default();
        let m = map(1);
        i.insert(br#"{"core:rate:max_per_minute":1}"#, &m);
        let hit = get(&i, br#"{"core:rate:max_per_minute":1}"#).unwrap();
        assert!(Arc::ptr_eq(&hit, &m));
        // Same value, other text: not a hit (the caller parses).
        assert!(get(&i, br#"{"core:rate:max_per_minute": 1}"#).is_none());
        // Clones share the table.
        assert!(get(&i.clone(), br#"{"core:rate:max_per_minute":1}"#).is_some());
    }

    #[test]
    fn an_object_is_found_where_it_starts_and_ends_where_its_text_does() {
        let i = Interned::default();
        let m = map(1);
        let text = br#"{"core:rate:max_per_minute":1}"#;
        i.insert(text, &m);
        let payload = br#"{"constraints":{"core:rate:max_per_minute":1},"x":2}"#;
        let start = 15;
        let check = |i: &Interned| {
            let (hit, end) = i.find(payload, start).unwrap();
            assert!(Arc::ptr_eq(&hit, &m));
            assert_eq!(end, start + text.len());
        };
        // A recent text: found by prefix.
        check(&i);
        // Cut short, or one byte different: no hit.
        assert!(get(&i, &text[..text.len() - 1]).is_none());
        assert!(get(&i, br#"{"core:rate:max_per_minute":10}"#).is_none());
        // No longer among the last RECENT texts kept: found by its exact bytes, same answer.
        for n in 2..(2 + RECENT as i64) {
            let t = format!(r#"{{"core:rate:max_per_minute":{n}}}"#);
            i.insert(t.as_bytes(), &map(n));
        }
        check(&i);
    }

    #[test]
    fn a_decode_keeps_what_it_parsed_only_when_told() {
        let i = Interned::default();
        let d = Interning::new(&i);
        d.parsed(b"{\"a\":1}", &map(1));
        drop(d);
        assert_eq!(i.len(), 0);
        let d = Interning::new(&i);
        d.parsed(b"{\"a\":1}", &map(1));
        d.keep();
        assert!(get(&i, b"{\"a\":1}").is_some());
    }

    #[test]
    fn bounded_in_count_and_size() {
        let i = Interned::default();
        i.insert(&vec![b' '; MAX_TEXT + 1], &map(0));
        assert_eq!(i.len(), 0);
        for n in 0..CAPACITY as i64 {
            i.insert(format!("{{\"k\":{n}}}").as_bytes(), &map(n));
        }
        assert_eq!(i.len(), CAPACITY);
        // Full: starts over.
        i.insert(b"{\"k\":-1}", &map(-1));
        assert_eq!(i.len(), 1);
        assert!(get(&i, b"{\"k\":0}").is_none());
    }
}
