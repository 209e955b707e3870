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

use std::borrow::Borrow;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
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

/// A cached token: its bytes and their sampled hash, computed once per check (a first sight
/// looks up and then inserts with the same hash).
struct Key {
    hash: u64,
    bytes: Arc<[u8]>,
}

/// What a lookup compares: a stored [`Key`], or a probe borrowing the request's bytes.
trait Probe {
    fn hash(&self) -> u64;
    fn bytes(&self) -> &[u8];
}

impl Probe for Key {
    fn hash(&self) -> u64 {
        self.hash
    }
    fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl Probe for (u64, &[u8]) {
    fn hash(&self) -> u64 {
        self.0
    }
    fn bytes(&self) -> &[u8] {
        self.1
    }
}

impl<'a> Borrow<dyn Probe + 'a> for Key {
    fn borrow(&self) -> &(dyn Probe + 'a) {
        self
    }
}

impl Hash for dyn Probe + '_ {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(Probe::hash(self));
    }
}

impl PartialEq for dyn Probe + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.bytes() == other.bytes()
    }
}

impl Eq for dyn Probe + '_ {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash);
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for Key {}

/// The map's hasher: the key's hash is already a keyed hash of its sample, so it is used as
/// it is.
#[derive(Clone, Copy, Default)]
struct Passthrough;

#[derive(Default)]
struct PassthroughHasher(u64);

impl BuildHasher for Passthrough {
    type Hasher = PassthroughHasher;
    fn build_hasher(&self) -> PassthroughHasher {
        PassthroughHasher(0)
    }
}

impl Hasher for PassthroughHasher {
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
    /// Not used by [`Key`]; folds anything else in rather than failing.
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type Map<V> = HashMap<Key, V, Passthrough>;

/// A token the cache does not hold, with its hash for [`PassportCache::insert`].
pub(crate) struct Miss(u64);

/// Verified passports by wire bytes, at most `capacity` of them.
pub(crate) struct PassportCache<V> {
    capacity: usize,
    hashing: SampledState,
    /// Keys are shared with the cached passport when it holds the same bytes (a JWT does).
    map: RwLock<Map<V>>,
}

impl<V: Clone> PassportCache<V> {
    pub(crate) fn new(capacity: usize) -> Self {
        PassportCache {
            capacity: capacity.max(1),
            hashing: SampledState::default(),
            map: RwLock::new(HashMap::default()),
        }
    }

    /// The value kept for `wire`, or the miss to insert it with.
    pub(crate) fn get(&self, wire: &[u8]) -> Result<V, Miss> {
        let hash = self.hashing.hash_one(wire);
        let probe: &dyn Probe = &(hash, wire);
        match self.map.read() {
            Ok(m) => m.get(probe).cloned().ok_or(Miss(hash)),
            Err(_) => Err(Miss(hash)),
        }
    }

    /// Keeps `v` for `wire` (the bytes [`PassportCache::get`] missed). When full, first drops
    /// the entries `expired` says are dead, then, if still full of live ones, everything
    /// (bounded memory, no eviction bookkeeping on the hot path). The dropped entries are freed
    /// after the lock is released, so other checks never wait for that. Measured against
    /// dropping one live entry in eight per sweep, this is cheaper per first sight (about 6 µs
    /// in the gate bench): freeing a whole generation at once leaves the allocator contiguous
    /// memory instead of scattered holes. They are freed in the order of their keys'
    /// addresses, which is about the order they were allocated in, rather than in the table's
    /// (random) order: a third less time freeing in the gate bench (1.9 k instead of 2.8 k
    /// cycles per cached passport), as the allocator then walks memory forwards. The new
    /// generation's table is allocated at full size, so refilling it never rehashes.
    pub(crate) fn insert(&self, miss: Miss, wire: Arc<[u8]>, v: V, expired: impl Fn(&V) -> bool) {
        debug_assert_eq!(miss.0, self.hashing.hash_one(&*wire));
        let key = Key {
            hash: miss.0,
            bytes: wire,
        };
        let mut dropped = None;
        let Ok(mut m) = self.map.write() else { return };
        if m.len() >= self.capacity && !m.contains_key(&key as &dyn Probe) {
            m.retain(|_, v| !expired(v));
            if m.len() >= self.capacity {
                let fresh = HashMap::with_capacity_and_hasher(self.capacity, Passthrough);
                dropped = Some(std::mem::replace(&mut *m, fresh));
            }
        }
        m.insert(key, v);
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
fn free_in_address_order<V>(old: Map<V>) {
    #[cfg(not(target_family = "wasm"))]
    {
        let mut entries: Vec<(Key, V)> = old.into_iter().collect();
        entries.sort_unstable_by_key(|(k, _)| Arc::as_ptr(&k.bytes).cast::<u8>() as usize);
        drop(entries);
    }
    #[cfg(target_family = "wasm")]
    drop(old);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    fn put(c: &PassportCache<i32>, k: &[u8], v: i32, expired: impl Fn(&i32) -> bool) {
        match c.get(k) {
            Err(miss) => c.insert(miss, k.into(), v, expired),
            Ok(_) => panic!("{k:?} is already kept"),
        }
    }

    fn kept(c: &PassportCache<i32>, k: &[u8]) -> Option<i32> {
        c.get(k).ok()
    }

    #[test]
    fn hits_need_the_exact_bytes() {
        let c = PassportCache::new(8);
        // Same length and same samples, one byte apart outside them: one bucket, two keys.
        let mut a = vec![b'a'; 1000];
        let mut b = a.clone();
        a[100] = b'x';
        b[100] = b'y';
        let s = &c.hashing;
        assert_eq!(s.hash_one(&a[..]), s.hash_one(&b[..]));
        put(&c, &a, 1, |_| false);
        assert_eq!((kept(&c, &a), kept(&c, &b)), (Some(1), None));
        put(&c, &b, 2, |_| false);
        assert_eq!((kept(&c, &a), kept(&c, &b), c.len()), (Some(1), Some(2), 2));
        // Short keys are hashed whole; a prefix is a different key.
        put(&c, b"short", 3, |_| false);
        assert_eq!((kept(&c, b"short"), kept(&c, b"shor")), (Some(3), None));
        // Another gate's cache hashes with another key.
        assert_ne!(SampledState::default().hash_one(&a[..]), s.hash_one(&a[..]));
    }

    #[test]
    fn a_full_cache_drops_the_expired_then_everything() {
        let c = PassportCache::new(3);
        for (k, v) in [(b"k1", 1), (b"k2", 2), (b"k3", 3)] {
            put(&c, k, v, |_| false);
        }
        // Full: the odd values are dead, so k2 survives beside k4.
        put(&c, b"k4", 4, |v| v % 2 == 1);
        assert_eq!(
            (kept(&c, b"k1"), kept(&c, b"k2"), kept(&c, b"k4")),
            (None, Some(2), Some(4))
        );
        put(&c, b"k5", 5, |_| false);
        // Two checks miss the same token at once (a race): both insert it.
        let (first, second) = (c.get(b"k6").unwrap_err(), c.get(b"k6").unwrap_err());
        // Full of live entries: start over.
        c.insert(first, b"k6"[..].into(), 6, |_| false);
        assert_eq!(
            (c.len(), kept(&c, b"k6"), kept(&c, b"k2")),
            (1, Some(6), None)
        );
        // Replacing a present key never clears.
        put(&c, b"k7", 7, |_| false);
        put(&c, b"k8", 8, |_| false);
        c.insert(second, b"k6"[..].into(), 9, |_| false);
        assert_eq!(
            (c.len(), kept(&c, b"k6"), kept(&c, b"k7")),
            (3, Some(9), Some(7))
        );
    }
}
