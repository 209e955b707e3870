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

    /// The object decoded from exactly `text`, if kept.
    pub(crate) fn get(&self, text: &[u8]) -> Option<SharedMap> {
        #[cfg(feature = "shared-sets")]
        {
            self.table.read().ok()?.by_text.get(text).cloned()
        }
        #[cfg(not(feature = "shared-sets"))]
        {
            let _ = text;
            None
        }
    }

    /// A recently kept object whose whole text starts `rest`, and that text's length. A JSON
    /// object ends at its own closing bracket, so when `rest` starts with a complete object's
    /// text, the object at the start of `rest` *is* that text: the strict reader would read the
    /// same value and stop at the same place. This spares the usual hit finding the object's
    /// end and hashing it.
    pub(crate) fn get_prefix(&self, rest: &[u8]) -> Option<(SharedMap, usize)> {
        #[cfg(feature = "shared-sets")]
        {
            let t = self.table.read().ok()?;
            let (text, map) = t.recent.iter().rev().find(|(t, _)| rest.starts_with(t))?;
            Some((map.clone(), text.len()))
        }
        #[cfg(not(feature = "shared-sets"))]
        {
            let _ = rest;
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

    /// The object decoded from exactly `text`, if kept.
    pub(crate) fn get(&self, text: &[u8]) -> Option<SharedMap> {
        self.table.get(text)
    }

    /// See [`Interned::get_prefix`].
    pub(crate) fn get_prefix(&self, rest: &[u8]) -> Option<(SharedMap, usize)> {
        self.table.get_prefix(rest)
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

    #[test]
    fn hits_need_the_exact_text() {
        let i = Interned::default();
        let m = map(1);
        i.insert(br#"{"core:rate:max_per_minute":1}"#, &m);
        let hit = i.get(br#"{"core:rate:max_per_minute":1}"#).unwrap();
        assert!(Arc::ptr_eq(&hit, &m));
        // Same value, other text: not a hit (the caller parses).
        assert!(i.get(br#"{"core:rate:max_per_minute": 1}"#).is_none());
        // Clones share the table.
        assert!(i
            .clone()
            .get(br#"{"core:rate:max_per_minute":1}"#)
            .is_some());
    }

    #[test]
    fn prefix_hits_need_the_whole_recent_text() {
        let i = Interned::default();
        let m = map(1);
        let text = br#"{"core:rate:max_per_minute":1}"#;
        i.insert(text, &m);
        // The object followed by the rest of a payload: a hit, with the object's length.
        let (hit, len) = i
            .get_prefix(br#"{"core:rate:max_per_minute":1},"x":2}"#)
            .unwrap();
        assert!(Arc::ptr_eq(&hit, &m));
        assert_eq!(len, text.len());
        // Cut short, or one byte different: no hit.
        assert!(i.get_prefix(&text[..text.len() - 1]).is_none());
        assert!(i
            .get_prefix(br#"{"core:rate:max_per_minute":10}"#)
            .is_none());
        // Only the last RECENT texts are tried by prefix; older ones still hit exactly.
        for n in 2..(2 + RECENT as i64) {
            let t = format!(r#"{{"core:rate:max_per_minute":{n}}}"#);
            i.insert(t.as_bytes(), &map(n));
        }
        assert!(i.get_prefix(text).is_none());
        assert!(i.get(text).is_some());
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
        assert!(i.get(b"{\"a\":1}").is_some());
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
        assert!(i.get(b"{\"k\":0}").is_none());
    }
}
