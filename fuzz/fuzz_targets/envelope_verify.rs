//! v2 envelope wire (`{"envelope":..,"signature":..}`): parse + verify, both through the
//! low-level `verify_wire` and the `Verifier` (trust store + self-issued policy).
#![no_main]
use libfuzzer_sys::fuzz_target;
use modei_core::envelope::{verify_wire, VerifyOptions};
use modei_core::passport::Verifier;
use modei_core::time::Timestamp;
use modei_core::trust::{Policy, TrustStore};
use std::sync::OnceLock;

fn verifier() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| Verifier::new(TrustStore::new(), Policy::new().allow_self_issued(true)))
}

fuzz_target!(|data: &[u8]| {
    let now = Timestamp::from_unix_seconds(1_777_593_600); // 2026-05-01
    if let Ok(v) = verify_wire(data, &VerifyOptions::at(now)) {
        // Whatever verified must re-verify from its own wire form.
        let wire = serde_json::to_vec(&v.signed.to_wire()).unwrap();
        assert!(verify_wire(&wire, &VerifyOptions::at(now)).is_ok());
    }
    let _ = verifier().verify_envelope(data, now);
    let _ = Verifier::inspect(data);
});
