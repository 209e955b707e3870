//! Passport JWTs: header/claims decode and full verification against the vector trust store
//! (`testvectors/jwt/trust-store.json`, embedded at build time), self-issued allowed.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modei_core::jwt::{self, HeaderRules};
use modei_core::passport::{Verifier, VerifierOptions};
use modei_core::time::Timestamp;
use modei_core::trust::{Policy, TrustStore};
use std::sync::OnceLock;

fn verifier() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| {
        // The vector file holds the store in its `trust_store` member.
        let doc: serde_json::Value =
            serde_json::from_slice(include_bytes!("../../testvectors/jwt/trust-store.json"))
                .expect("vector file");
        let store = TrustStore::from_json(doc["trust_store"].to_string().as_bytes(), "trust-store.json")
            .expect("vector trust store");
        Verifier::new(store, Policy::new().allow_self_issued(true)).with_options(VerifierOptions {
            gate_id: Some("gate:fuzz".into()),
            ..VerifierOptions::default()
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        let _ = verifier().verify(data, Timestamp::from_unix_seconds(1_767_225_660));
        return;
    };
    let _ = jwt::decode(s, &HeaderRules::default());
    let _ = jwt::decode_typed(s, &HeaderRules::default());
    let _ = jwt::b64url_decode_strict(data, "fuzz");
    let _ = verifier().verify_jwt(s, Timestamp::from_unix_seconds(1_767_225_660));
    let _ = Verifier::inspect(data);
});
