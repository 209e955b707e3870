//! Trust-store and revocation-list files: load, and whatever loads must re-serialize and
//! load again.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modei_core::revocation::RevocationList;
use modei_core::trust::TrustStore;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = TrustStore::from_json(data, "fuzz") {
        if let Ok(text) = s.to_json() {
            TrustStore::from_json(text.as_bytes(), "again").expect("trust store round trip");
        }
    }
    if let Ok(r) = RevocationList::from_json(data, "fuzz") {
        if let Ok(text) = r.to_json() {
            RevocationList::from_json(text.as_bytes(), "again").expect("revocation round trip");
        }
    }
});
