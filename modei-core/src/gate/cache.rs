//! The warm-passport cache: verified passports by their exact wire bytes.
//!
//! Keyed by the bytes themselves (a hit needs byte-for-byte equality, so no collision can
//! stand in for verification), and located by a keyed hash of a *sample* of them: the length
//! and 64 bytes each from the start, the middle and the end. The end of a JWT is its
//! signature and the end of a Modei SDK envelope is too, so distinct passports differ in the
//! sample; hashing the whole token (1–2 KB) on every check cost more than the rest of the
//! lookup. Tokens built to share a sample only share a hash bucket, which costs their own
//! lookups time, bounded by the cache's capacity; the hash key is random per gate, so nobody
//! can aim at another passport's bucket without its exact bytes.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, RwLock};

/// Bytes hashed from each of the start, middle and end of a token.
const SAMPLE: usize = 64;

/// Hashes `[u8]` keys by their length and three samples (see the module docs).
#[derive(Clone, Default)]
pub(crate) struct SampledState(RandomState);

pub(crate) struct SampledHasher<H>(H);

impl BuildHasher for SampledState {
    type Hasher = SampledHasher<<RandomState as BuildHasher>::Hasher>;
    fn build_hasher(&self) -> Self::Hasher {
        SampledHasher(self.0.build_hasher())
    }
}

impl<H: Hasher> Hasher for SampledHasher<H> {
    fn write(&mut self, bytes: &[u8]) {
        if bytes.len() <= 3 * SAMPLE {
            self.0.write(bytes);
        } else {
            let mid = bytes.len() / 2 - SAMPLE / 2;
            self.0.write(&bytes[..SAMPLE]);
            self.0.write(&bytes[mid..mid + SAMPLE]);
            self.0.write(&bytes[bytes.len() - SAMPLE..]);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0.write_usize(n);
    }
    fn finish(&self) -> u64 {
        self.0.finish()
    }
}

/// Verified passports by wire bytes, at most `capacity` of them.
pub(crate) struct PassportCache<V> {
    capacity: usize,
    /// Keys are shared with the cached passport when it holds the same bytes (a JWT does).
    map: RwLock<HashMap<Arc<[u8]>, V, SampledState>>,
}

impl<V: Clone> PassportCache<V> {
    pub(crate) fn new(capacity: usize) -> Self {
        PassportCache {
            capacity: capacity.max(1),
            map: RwLock::new(HashMap::default()),
        }
    }

    pub(crate) fn get(&self, wire: &[u8]) -> Option<V> {
        self.map.read().ok()?.get(wire).cloned()
    }

    /// Keeps `v` for `wire`. When full, first drops the entries `expired` says are dead, then,
    /// if still full of live ones, everything (bounded memory, no eviction bookkeeping on the
    /// hot path). The dropped entries are freed after the lock is released, so other checks
    /// never wait for that. Measured against dropping one live entry in eight per sweep, this
    /// is cheaper per first sight (about 6 µs in the gate bench): freeing a whole generation at
    /// once leaves the allocator contiguous memory instead of scattered holes. They are freed
    /// in the order of their keys' addresses, which is about the order they were allocated in,
    /// rather than in the table's (random) order: a third less time freeing in the gate bench
    /// (1.9 k instead of 2.8 k cycles per cached passport), as the allocator then walks memory
    /// forwards. The new generation's table is allocated at full size, so refilling it never
    /// rehashes.
    pub(crate) fn insert(&self, wire: Arc<[u8]>, v: V, expired: impl Fn(&V) -> bool) {
        let mut dropped = None;
        let Ok(mut m) = self.map.write() else { return };
        if m.len() >= self.capacity && !m.contains_key(&*wire) {
            m.retain(|_, v| !expired(v));
            if m.len() >= self.capacity {
                let fresh = HashMap::with_capacity_and_hasher(self.capacity, m.hasher().clone());
                dropped = Some(std::mem::replace(&mut *m, fresh));
            }
        }
        m.insert(wire, v);
        drop(m);
        if let Some(old) = dropped {
            free_in_address_order(old);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.map.read().map(|m| m.len()).unwrap_or(0)
    }
}

/// Frees a retired generation in the order of its keys' addresses (see
/// [`PassportCache::insert`]). Measured with glibc's allocator; the WebAssembly build frees in
/// table order and keeps the sort's code out of its size budget.
fn free_in_address_order<V>(old: HashMap<Arc<[u8]>, V, SampledState>) {
    #[cfg(not(target_family = "wasm"))]
    {
        let mut entries: Vec<(Arc<[u8]>, V)> = old.into_iter().collect();
        entries.sort_unstable_by_key(|(k, _)| Arc::as_ptr(k).cast::<u8>() as usize);
        drop(entries);
    }
    #[cfg(target_family = "wasm")]
    drop(old);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn hits_need_the_exact_bytes() {
        let c = PassportCache::new(8);
        // Same length and same samples, one byte apart outside them: one bucket, two keys.
        let mut a = vec![b'a'; 1000];
        let mut b = a.clone();
        a[100] = b'x';
        b[100] = b'y';
        let s = SampledState::default();
        assert_eq!(s.hash_one(&a[..]), s.hash_one(&b[..]));
        c.insert(a[..].into(), 1, |_| false);
        assert_eq!(c.get(&a), Some(1));
        assert_eq!(c.get(&b), None);
        c.insert(b[..].into(), 2, |_| false);
        assert_eq!((c.get(&a), c.get(&b), c.len()), (Some(1), Some(2), 2));
        // Short keys are hashed whole; a prefix is a different key.
        c.insert(b"short"[..].into(), 3, |_| false);
        assert_eq!((c.get(b"short"), c.get(b"shor")), (Some(3), None));
    }

    #[test]
    fn a_full_cache_drops_the_expired_then_everything() {
        let c = PassportCache::new(3);
        for (k, v) in [(b"k1", 1), (b"k2", 2), (b"k3", 3)] {
            c.insert(k[..].into(), v, |_| false);
        }
        // Full: the odd values are dead, so k2 survives beside k4.
        c.insert(b"k4"[..].into(), 4, |v| v % 2 == 1);
        assert_eq!(
            (c.get(b"k1"), c.get(b"k2"), c.get(b"k4")),
            (None, Some(2), Some(4))
        );
        c.insert(b"k5"[..].into(), 5, |_| false);
        // Full of live entries: start over.
        c.insert(b"k6"[..].into(), 6, |_| false);
        assert_eq!((c.len(), c.get(b"k6"), c.get(b"k2")), (1, Some(6), None));
        // Replacing a present key never clears.
        c.insert(b"k6"[..].into(), 7, |_| false);
        assert_eq!((c.len(), c.get(b"k6")), (1, Some(7)));
    }
}
