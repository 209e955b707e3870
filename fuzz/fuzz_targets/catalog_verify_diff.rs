//! Catalogs: parse + verify with the gate key, and diff against the published v1 vector in
//! both directions; a catalog set accepts or refuses it without panicking.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modei_core::attestation::GateKeySet;
use modei_core::catalog::{diff, Catalog, CatalogSet};
use modei_core::keys::PublicKey;
use std::sync::OnceLock;

fn keys() -> &'static GateKeySet {
    static K: OnceLock<GateKeySet> = OnceLock::new();
    K.get_or_init(|| {
        let mut k = GateKeySet::new();
        k.insert(
            "gate:flights-prod",
            "vaJPtef-vPnGAIWE19qlMPDYWGaER3zeeJM_3r1WO7E",
            PublicKey::from_base64url("0EqyMnQrtKs6E2i9RhXk5tAiSrcaAWuvhSCjMsl3hzc").unwrap(),
        );
        k
    })
}

fn v1() -> &'static Catalog {
    static C: OnceLock<Catalog> = OnceLock::new();
    C.get_or_init(|| {
        Catalog::verify_json(include_bytes!("../../testvectors/catalog/catalog_v1.json"), keys())
            .expect("catalog v1 vector")
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = Catalog::verify_json(data, keys());
    let Ok(c) = Catalog::from_json(data) else {
        return;
    };
    let _ = c.verify(keys());
    let _ = c.to_json();
    let _ = c.pin().validate();
    let d = diff(v1(), &c);
    let _ = d.to_value();
    let _ = d.has_breaking_changes();
    let _ = diff(&c, v1()).to_value();
    let mut set = CatalogSet::new("gate:flights-prod");
    let _ = set.insert(v1().clone());
    let _ = set.insert(c);
});
