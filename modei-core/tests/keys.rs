//! Keys, signatures, derivations and credentials files.
//!
//! Expected values come from published sources (RFC 8032, RFC 8037, RFC 8410, OpenSSL output)
//! or from Modei's vectors file, never from this crate's own output.

mod common;

use modei_core::credentials::Credentials;
use modei_core::keys::{derive_self_agent_id, verify_strict, PublicKey, Signature, SigningKey};
use modei_core::time::Timestamp;
use modei_core::Code;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

// RFC 8032 §7.1, TEST 1.
const RFC8032_SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const RFC8032_PK: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const RFC8032_SIG: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

// RFC 8410 §10.1 and §10.3 (the same key pair).
const RFC8410_PRIV_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";
const RFC8410_PUB_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";

// `openssl genpkey -algorithm ed25519` and `openssl pkey -pubout` (OpenSSL 3).
const OPENSSL_SEED: &str = "0e2007dc6ed7ebc502256fbd94fe07d9e6920ed7eb9330d6ef1b1f380001e082";
const OPENSSL_PRIV_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA4gB9xu1+vFAiVvvZT+B9nmkg7X65Mw1u8bHzgAAeCC\n-----END PRIVATE KEY-----\n";
const OPENSSL_PUB_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAXYC1mHA/kjiGi9wa8JGMQU9MOv8TZx05HK5u+x8jlGM=\n-----END PUBLIC KEY-----\n";

// Other algorithms, from OpenSSL.
const P256_PUB_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2cUdsUSXRHtCzonIqCSOuFMEzQBD\ntmKe/vLaYpWDIWXDrbSau6hV5ptJz85l39BmfFHKMlQhS/Ae8mpQa0ap9w==\n-----END PUBLIC KEY-----\n";
const P256_PRIV_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgd73Lc5mj1DRyPjhD\n1k74uc0xQ09Sk0rdOINcg7M33mChRANCAATZxR2xRJdEe0LOicioJI64UwTNAEO2\nYp7+8tpilYMhZcOttJq7qFXmm0nPzmXf0GZ8UcoyVCFL8B7yalBrRqn3\n-----END PRIVATE KEY-----\n";
const X25519_PUB_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VuAyEAPoOXe3wIAPN9KpQ8onyeCrcffNyPZBhEJfl6jZHjAS4=\n-----END PUBLIC KEY-----\n";

fn seed(hex_seed: &str) -> SigningKey {
    SigningKey::from_seed_hex(hex_seed).unwrap()
}

fn code<T: std::fmt::Debug>(r: modei_core::Result<T>) -> Code {
    r.unwrap_err().code()
}

fn vectors() -> Value {
    common::load("reference/modei-v2-vectors.json")
}

// ---------------------------------------------------------------------------------------------
// RFC vectors
// ---------------------------------------------------------------------------------------------

#[test]
fn rfc8032_test_1_sign_and_verify() {
    let sk = seed(RFC8032_SEED);
    let pk = sk.public_key();
    assert_eq!(pk.to_hex(), RFC8032_PK);
    let sig = sk.sign(b"");
    assert_eq!(sig.to_hex(), RFC8032_SIG);
    pk.verify_strict(b"", &sig).unwrap();
    verify_strict(
        &hex::decode(RFC8032_PK).unwrap(),
        b"",
        &hex::decode(RFC8032_SIG).unwrap(),
    )
    .unwrap();
    // Any change to the message or the signature fails with signature_invalid.
    assert_eq!(code(pk.verify_strict(b"x", &sig)), Code::SignatureInvalid);
    let mut bad = *sig.bytes();
    bad[0] ^= 1;
    assert_eq!(
        code(pk.verify_strict(b"", &Signature::from(bad))),
        Code::SignatureInvalid
    );
}

#[test]
fn rfc8037_thumbprint_and_jwk() {
    let pk = PublicKey::from_base64url("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo").unwrap();
    assert_eq!(
        pk.thumbprint(),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
    assert_eq!(
        pk.to_jwk(),
        json!({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
               "kid":"kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"})
    );
    // RFC 8037 A.1: the private key of the same pair.
    let jwk = json!({"kty":"OKP","crv":"Ed25519",
        "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
        "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
    let sk = SigningKey::from_jwk(&jwk).unwrap();
    assert_eq!(sk.public_key(), pk);
    assert_eq!(sk.to_seed_hex().as_str(), RFC8032_SEED);
}

#[test]
fn rfc8410_and_openssl_pem() {
    let sk = SigningKey::from_pkcs8_pem(RFC8410_PRIV_PEM).unwrap();
    assert_eq!(sk.to_pkcs8_pem().as_str(), RFC8410_PRIV_PEM);
    assert_eq!(sk.public_key().to_spki_pem(), RFC8410_PUB_PEM);
    assert_eq!(
        PublicKey::from_spki_pem(RFC8410_PUB_PEM).unwrap(),
        sk.public_key()
    );

    let sk = seed(OPENSSL_SEED);
    assert_eq!(sk.to_pkcs8_pem().as_str(), OPENSSL_PRIV_PEM);
    assert_eq!(sk.public_key().to_spki_pem(), OPENSSL_PUB_PEM);
    assert_eq!(
        SigningKey::from_pkcs8_pem(OPENSSL_PRIV_PEM).unwrap().seed(),
        sk.seed()
    );
}

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

#[test]
fn round_trips_in_every_format() {
    for s in [[0u8; 32], [0xff; 32], [7; 32]] {
        let sk = SigningKey::from_seed(&s);
        assert_eq!(*sk.seed(), s);
        let back = |k: SigningKey| assert_eq!(*k.seed(), s);
        back(SigningKey::from_seed_base64(&sk.to_seed_base64()).unwrap());
        back(SigningKey::from_seed_base64url(&sk.to_seed_base64url()).unwrap());
        back(SigningKey::from_seed_hex(&sk.to_seed_hex()).unwrap());
        back(SigningKey::from_seed_hex(&sk.to_seed_hex().to_uppercase()).unwrap());
        back(SigningKey::from_jwk(&sk.to_jwk_private()).unwrap());
        back(SigningKey::from_pkcs8_pem(&sk.to_pkcs8_pem()).unwrap());
        back(SigningKey::from_seed_slice(&s).unwrap());

        let pk = sk.public_key();
        assert_eq!(PublicKey::from_bytes(pk.bytes()).unwrap(), pk);
        assert_eq!(PublicKey::from_base64(&pk.to_base64()).unwrap(), pk);
        assert_eq!(PublicKey::from_base64url(&pk.to_base64url()).unwrap(), pk);
        assert_eq!(PublicKey::from_hex(&pk.to_hex()).unwrap(), pk);
        assert_eq!(
            PublicKey::from_hex(&pk.to_hex().to_uppercase()).unwrap(),
            pk
        );
        assert_eq!(PublicKey::from_jwk(&pk.to_jwk()).unwrap(), pk);
        assert_eq!(PublicKey::from_spki_pem(&pk.to_spki_pem()).unwrap(), pk);
        for text in [
            pk.to_base64(),
            pk.to_base64url(),
            pk.to_hex(),
            pk.to_hex().to_uppercase(),
            pk.to_jwk().to_string(),
            pk.to_spki_pem(),
            format!("  {}\n", pk.to_base64()),
        ] {
            assert_eq!(PublicKey::parse_any(&text).unwrap(), pk, "{text}");
            assert_eq!(text.parse::<PublicKey>().unwrap(), pk);
        }

        let sig = sk.sign(b"round trip");
        pk.verify_strict(b"round trip", &sig).unwrap();
        assert_eq!(Signature::from_bytes(sig.bytes()).unwrap(), sig);
        assert_eq!(Signature::from_base64(&sig.to_base64()).unwrap(), sig);
        assert_eq!(Signature::from_base64url(&sig.to_base64url()).unwrap(), sig);
        assert_eq!(Signature::from_hex(&sig.to_hex()).unwrap(), sig);
        for text in [sig.to_base64(), sig.to_base64url(), sig.to_hex()] {
            assert_eq!(Signature::parse_any(&text).unwrap(), sig, "{text}");
        }
        assert_eq!(sig.to_base64().len(), 88);
        assert!(sig.to_base64().ends_with("=="));
    }
}

#[cfg(feature = "os-rng")]
#[test]
fn generated_keys_differ_and_sign() {
    let a = SigningKey::generate().unwrap();
    let b = SigningKey::generate().unwrap();
    assert_ne!(a.public_key(), b.public_key());
    a.public_key().verify_strict(b"m", &a.sign(b"m")).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Refusals
// ---------------------------------------------------------------------------------------------

#[test]
fn wrong_lengths() {
    let e = PublicKey::from_bytes(&[1; 31]).unwrap_err();
    assert_eq!(e.code(), Code::KeyMalformed);
    assert!(e.detail().contains("31"), "{}", e.detail());
    assert_eq!(code(PublicKey::from_bytes(&[])), Code::KeyMalformed);
    // 31 bytes of base64, 33 bytes of hex.
    let e = PublicKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==").unwrap_err();
    assert_eq!(e.code(), Code::KeyMalformed);
    assert!(e.detail().contains("31 bytes"), "{}", e.detail());
    assert_eq!(
        code(PublicKey::from_hex(&"00".repeat(33))),
        Code::KeyMalformed
    );
    assert_eq!(
        code(SigningKey::from_seed_slice(&[0; 64])),
        Code::KeyMalformed
    );
    assert_eq!(
        code(SigningKey::from_seed_base64("AAAA")),
        Code::KeyMalformed
    );

    let e = Signature::from_bytes(&[0; 63]).unwrap_err();
    assert_eq!(e.code(), Code::SignatureMalformed);
    assert!(e.detail().contains("63"));
    assert_eq!(
        code(Signature::from_hex(&"00".repeat(65))),
        Code::SignatureMalformed
    );

    // The raw utility: signature checked first, then the key.
    let pk = seed(RFC8032_SEED).public_key();
    assert_eq!(
        code(verify_strict(&[0; 31], b"", &[0; 64])),
        Code::PublicKeyMalformed
    );
    assert_eq!(
        code(verify_strict(pk.bytes(), b"", &[0; 65])),
        Code::SignatureMalformed
    );
    assert_eq!(
        code(verify_strict(&[0; 31], b"", &[0; 63])),
        Code::SignatureMalformed
    );
    assert_eq!(
        code(verify_strict(pk.bytes(), b"", &[0; 64])),
        Code::SignatureInvalid
    );
}

#[test]
fn malformed_and_non_canonical_encodings() {
    let pk = seed(RFC8032_SEED).public_key();
    let b64 = pk.to_base64();
    // Unpadded, whitespace, url alphabet in std, std alphabet in url, padding in url.
    for bad in [
        b64.trim_end_matches('=').to_string(),
        format!("{b64}="),
        format!(" {b64}"),
        b64.replace('/', "_"),
    ] {
        assert_eq!(
            code(PublicKey::from_base64(&bad)),
            Code::KeyMalformed,
            "{bad}"
        );
    }
    assert_eq!(
        code(PublicKey::from_base64url(&format!(
            "{}=",
            pk.to_base64url()
        ))),
        Code::KeyMalformed
    );
    assert_eq!(code(PublicKey::from_base64url(&b64)), Code::KeyMalformed);

    // Non-canonical trailing bits: the last character before '=' of a 32-byte value carries
    // two unused bits. "...ik=" is canonical for k0; "...il=" has a nonzero unused bit.
    let k0 = "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=";
    PublicKey::from_base64(k0).unwrap();
    let e = PublicKey::from_base64("O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2il=").unwrap_err();
    assert_eq!(e.code(), Code::KeyMalformed);
    assert!(e.detail().contains("trailing bits"), "{}", e.detail());

    // A signature with non-canonical trailing bits ("==" follows one char carrying 4 bits).
    let sig = seed(RFC8032_SEED).sign(b"");
    let s = sig.to_base64();
    let mut chars: Vec<char> = s.chars().collect();
    let i = chars.len() - 3;
    // A canonical final character has its low four bits zero (A, Q, g or w); the next
    // character of the alphabet sets one of them.
    chars[i] = match chars[i] {
        'A' => 'B',
        'Q' => 'R',
        'g' => 'h',
        'w' => 'x',
        other => panic!("{other} cannot end a canonical 64-byte base64"),
    };
    let tweaked: String = chars.into_iter().collect();
    assert_eq!(
        code(Signature::from_base64(&tweaked)),
        Code::SignatureMalformed
    );

    // Hex with a non-hex character; odd length.
    assert_eq!(
        code(PublicKey::from_hex(&format!("{}zz", &pk.to_hex()[2..]))),
        Code::KeyMalformed
    );
    assert_eq!(
        code(PublicKey::from_hex(&pk.to_hex()[1..])),
        Code::KeyMalformed
    );

    // Non-canonical point encoding: y = p + 1 encodes the identity's y = 1 non-canonically.
    let mut p_plus_1 = [0xffu8; 32];
    p_plus_1[0] = 0xee; // p = 2^255 - 19 -> ...ffed; p + 1 -> ...ffee
    p_plus_1[31] = 0x7f;
    let e = PublicKey::from_bytes(&p_plus_1).unwrap_err();
    assert_eq!(e.code(), Code::KeyMalformed);
    assert!(e.detail().contains("non-canonical"), "{}", e.detail());
    // The identity (y = 1) with the sign bit set: x = 0 cannot be negative.
    let mut neg_zero = [0u8; 32];
    neg_zero[0] = 1;
    neg_zero[31] = 0x80;
    assert_eq!(code(PublicKey::from_bytes(&neg_zero)), Code::KeyMalformed);

    // Not on the curve: y = 2 has no x.
    let mut y2 = [0u8; 32];
    y2[0] = 2;
    let e = PublicKey::from_bytes(&y2).unwrap_err();
    assert!(
        e.detail().contains("not the encoding of a point"),
        "{}",
        e.detail()
    );

    for junk in [
        "",
        "   ",
        "not a key",
        "{",
        "{}",
        "[]",
        "-----BEGIN PUBLIC KEY-----",
    ] {
        assert!(PublicKey::parse_any(junk).is_err(), "{junk:?}");
        assert!(Signature::parse_any(junk).is_err(), "{junk:?}");
    }
}

#[test]
fn weak_keys_parse_but_never_verify() {
    // The identity point: with (R = identity, S = 0) it "signs" every message under ZIP-215.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let pk = PublicKey::from_bytes(&identity).unwrap();
    assert!(pk.is_weak());
    let mut sig = [0u8; 64];
    sig[0] = 1;
    let e = pk
        .verify_strict(b"anything", &Signature::from(sig))
        .unwrap_err();
    assert_eq!(e.code(), Code::SignatureInvalid);
    assert!(e.detail().contains("small order"));
    assert!(!seed(RFC8032_SEED).public_key().is_weak());
}

#[test]
fn jwk_refusals() {
    let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    let cases: &[(Value, Code)] = &[
        (
            json!({"kty":"OKP","crv":"X25519","x":x}),
            Code::KeyUnsupported,
        ),
        (
            json!({"kty":"OKP","crv":"Ed448","x":x}),
            Code::KeyUnsupported,
        ),
        (
            json!({"kty":"EC","crv":"P-256","x":x,"y":x}),
            Code::KeyUnsupported,
        ),
        (
            json!({"kty":"RSA","n":"AQAB","e":"AQAB"}),
            Code::KeyUnsupported,
        ),
        (
            json!({"kty":"OKP","crv":"Ed25519","x":x,"alg":"ES256"}),
            Code::KeyUnsupported,
        ),
        (
            json!({"kty":"OKP","crv":"Ed25519","x":x,"use":"enc"}),
            Code::JwkInvalid,
        ),
        (json!({"crv":"Ed25519","x":x}), Code::JwkInvalid),
        (json!({"kty":"OKP","x":x}), Code::JwkInvalid),
        (json!({"kty":"OKP","crv":"Ed25519"}), Code::JwkInvalid),
        (json!({"kty":1,"crv":"Ed25519","x":x}), Code::JwkInvalid),
        (json!({"kty":"OKP","crv":"Ed25519","x":7}), Code::JwkInvalid),
        // x padded, in the std alphabet, wrong length, non-canonical trailing bits.
        (
            json!({"kty":"OKP","crv":"Ed25519","x":format!("{x}=")}),
            Code::JwkInvalid,
        ),
        (
            json!({"kty":"OKP","crv":"Ed25519","x":"O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="}),
            Code::JwkInvalid,
        ),
        (
            json!({"kty":"OKP","crv":"Ed25519","x":"AAAA"}),
            Code::JwkInvalid,
        ),
        (
            json!({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURp"}),
            Code::JwkInvalid,
        ),
        (json!("not an object"), Code::JwkInvalid),
    ];
    for (jwk, want) in cases {
        assert_eq!(code(PublicKey::from_jwk(jwk)), *want, "{jwk}");
    }
    // Private material where a public key is expected.
    let private = seed(RFC8032_SEED).to_jwk_private();
    let e = PublicKey::from_jwk(&private).unwrap_err();
    assert_eq!(e.code(), Code::JwkInvalid);
    assert!(
        e.detail().contains("private key material"),
        "{}",
        e.detail()
    );
    assert_eq!(
        code(PublicKey::parse_any(&private.to_string())),
        Code::JwkInvalid
    );
    // A public JWK where a private key is expected; a private JWK whose x is another key's.
    assert_eq!(
        code(SigningKey::from_jwk(
            &json!({"kty":"OKP","crv":"Ed25519","x":x})
        )),
        Code::JwkInvalid
    );
    let mut mismatched = private.clone();
    mismatched["x"] = Value::String(seed(OPENSSL_SEED).public_key().to_base64url());
    assert_eq!(code(SigningKey::from_jwk(&mismatched)), Code::JwkInvalid);
    // Duplicate members in JWK text.
    let dup = format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}","x":"{x}"}}"#);
    assert_eq!(code(PublicKey::parse_any(&dup)), Code::JwkInvalid);
}

#[test]
fn pem_refusals() {
    // Another algorithm.
    assert_eq!(
        code(PublicKey::from_spki_pem(P256_PUB_PEM)),
        Code::KeyUnsupported
    );
    assert_eq!(
        code(PublicKey::from_spki_pem(X25519_PUB_PEM)),
        Code::KeyUnsupported
    );
    assert_eq!(
        code(PublicKey::parse_any(X25519_PUB_PEM)),
        Code::KeyUnsupported
    );
    assert_eq!(
        code(SigningKey::from_pkcs8_pem(P256_PRIV_PEM)),
        Code::KeyUnsupported
    );
    // The wrong kind of document.
    let e = PublicKey::from_spki_pem(OPENSSL_PRIV_PEM).unwrap_err();
    assert_eq!(e.code(), Code::PemInvalid);
    assert!(e.detail().contains("PRIVATE KEY"), "{}", e.detail());
    assert_eq!(
        code(PublicKey::parse_any(OPENSSL_PRIV_PEM)),
        Code::PemInvalid
    );
    let e = SigningKey::from_pkcs8_pem(OPENSSL_PUB_PEM).unwrap_err();
    assert_eq!(e.code(), Code::PemInvalid);
    // Damaged body, missing footer, not PEM at all.
    let damaged = OPENSSL_PUB_PEM.replace("MCow", "MCox");
    assert!(PublicKey::from_spki_pem(&damaged).is_err());
    let truncated = OPENSSL_PUB_PEM.replace("-----END PUBLIC KEY-----\n", "");
    assert_eq!(code(PublicKey::from_spki_pem(&truncated)), Code::PemInvalid);
    assert_eq!(code(PublicKey::from_spki_pem("hello")), Code::PemInvalid);
    assert_eq!(code(SigningKey::from_pkcs8_pem("")), Code::PemInvalid);
}

#[test]
fn debug_never_shows_the_seed() {
    for hex_seed in [RFC8032_SEED, OPENSSL_SEED] {
        let sk = seed(hex_seed);
        let creds = Credentials::new(sk.clone(), Timestamp::from_unix_seconds(0)).unwrap();
        for dbg in [format!("{sk:?}"), format!("{sk:#?}"), format!("{creds:?}")] {
            for secret in [
                sk.to_seed_hex().to_string(),
                sk.to_seed_hex().to_uppercase(),
                sk.to_seed_base64().to_string(),
                sk.to_seed_base64url().to_string(),
                format!("{:?}", *sk.seed()),
            ] {
                assert!(!dbg.contains(&secret), "{dbg} leaks {secret}");
            }
            assert!(dbg.contains(&sk.public_key().to_base64()), "{dbg}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Modei vectors
// ---------------------------------------------------------------------------------------------

#[test]
fn modei_key_table_and_derivations() {
    let v = vectors();
    let keys = v["keys"].as_array().unwrap();
    assert!(!keys.is_empty());
    for k in keys {
        let name = k["name"].as_str().unwrap();
        let sk = seed(k["seed_hex"].as_str().unwrap());
        let pk = sk.public_key();
        assert_eq!(
            pk.to_base64(),
            k["public_key_b64"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(pk.to_hex(), k["public_key_hex"].as_str().unwrap(), "{name}");
        assert_eq!(
            pk.self_agent_id(),
            k["agent_id"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            pk.self_issuer_id(),
            k["self_issuer_id"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            pk.realtime_fingerprint(),
            k["realtime_fingerprint"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            PublicKey::from_base64(k["public_key_b64"].as_str().unwrap()).unwrap(),
            pk
        );
    }
}

#[test]
fn modei_agent_id_vectors() {
    let v = vectors();
    for a in v["agent_id_vectors"].as_array().unwrap() {
        let name = a["name"].as_str().unwrap();
        let b64 = a["public_key_b64"].as_str().unwrap();
        match a["agent_id"].as_str() {
            Some(expected) => {
                // The SDKs derive from any bytes (short_31 is 31 bytes; ff_32 is not a
                // canonical point); so does the free function.
                let raw = modei_core::encoding::b64_std_decode(b64).unwrap();
                assert_eq!(derive_self_agent_id(&raw), expected, "{name}");
                assert_eq!(expected.len(), 43);
                assert_eq!(
                    modei_core::keys::derive_self_issuer_id(&raw),
                    format!("self:{}", a["sha256_hex"].as_str().unwrap())
                );
                if let Ok(pk) = PublicKey::from_base64(b64) {
                    assert_eq!(pk.self_agent_id(), expected, "{name}");
                }
            }
            // The reference refuses the input (not base64); so does our decoder.
            None => assert!(modei_core::encoding::b64_std_decode(b64).is_err(), "{name}"),
        }
    }
}

/// Loading differs from the Python reference on no vector. `expected_load` is "ok" or
/// "error: ..."; the error text is Python's and is not compared, only the verdict (and that
/// our detail names the field at fault).
#[test]
fn modei_credentials_vectors() {
    let v = vectors();
    let cases = v["credentials_vectors"].as_array().unwrap();
    assert_eq!(cases.len(), 10);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let text = c["file_text"].as_str().unwrap();
        let expected = c["expected_load"].as_str().unwrap();
        if let (Some(seed_hex), Some(created)) = (c["seed_hex"].as_str(), c["created_at"].as_str())
        {
            let creds =
                Credentials::new(seed(seed_hex), Timestamp::parse_rfc3339(created).unwrap())
                    .unwrap();
            assert_eq!(creds.to_file_text().as_str(), text, "{name}: save");
        }
        let loaded = Credentials::from_file_text(text);
        if expected == "ok" {
            let creds = loaded.unwrap_or_else(|e| panic!("{name}: {e}"));
            // A file without extra members reloads and saves byte for byte.
            if name != "extra_field" {
                assert_eq!(creds.to_file_text().as_str(), text, "{name}: resave");
            }
            assert_eq!(creds.agent_id(), creds.public_key().self_agent_id());
        } else {
            assert!(expected.starts_with("error"), "{name}: {expected}");
            let e = loaded.unwrap_err();
            assert_eq!(e.code(), Code::CredentialsInvalid, "{name}");
            let field = match name {
                "version_2" => "version",
                "agent_id_mismatch" => "agent_id",
                "public_key_mismatch" => "public_key_base64",
                "missing_created_at" => "created_at",
                "private_key_31_bytes" | "private_key_not_base64" => "private_key_base64",
                other => panic!("unlisted error vector {other}"),
            };
            assert!(e.detail().contains(field), "{name}: {}", e.detail());
        }
    }
}

#[test]
fn credentials_stricter_than_python() {
    let base = Credentials::new(
        seed(OPENSSL_SEED),
        Timestamp::from_unix_seconds(1_767_225_600),
    )
    .unwrap();
    let text = base.to_file_text().to_string();
    assert!(text.contains("\"created_at\": \"2026-01-01T00:00:00Z\""));
    let tamper = |from: &str, to: &str| {
        assert!(text.contains(from), "{from}");
        Credentials::from_file_text(&text.replacen(from, to, 1)).unwrap_err()
    };
    // Duplicate member, version 1.0 / true / "1", non-string field, bad created_at.
    let e = tamper("\"version\": 1", "\"version\": 1,\n  \"version\": 1");
    assert!(e.detail().contains("duplicate"), "{}", e.detail());
    for v in ["1.0", "true", "\"1\"", "null"] {
        let e = tamper("\"version\": 1", &format!("\"version\": {v}"));
        assert!(e.detail().starts_with("version"), "{}", e.detail());
    }
    let e = tamper(
        "\"created_at\": \"2026-01-01T00:00:00Z\"",
        "\"created_at\": 5",
    );
    assert!(e.detail().starts_with("created_at"), "{}", e.detail());
    let e = tamper("2026-01-01T00:00:00Z", "yesterday");
    assert!(e.detail().starts_with("created_at"), "{}", e.detail());
    assert_eq!(
        Credentials::from_file_text("[]").unwrap_err().code(),
        Code::CredentialsInvalid
    );
    assert_eq!(
        Credentials::from_file_text("").unwrap_err().code(),
        Code::CredentialsInvalid
    );
    // A trailing newline (an editor's) is fine: it is JSON whitespace.
    Credentials::from_file_text(&format!("{text}\n")).unwrap();
    // Milliseconds are dropped on creation, as the file cannot hold them.
    let c = Credentials::new(
        seed(OPENSSL_SEED),
        Timestamp::from_unix_millis(1_767_225_600_999),
    )
    .unwrap();
    assert_eq!(c.created_at(), Timestamp::from_unix_seconds(1_767_225_600));
    assert_eq!(c.to_file_text().as_str(), text);
}

#[test]
fn pkcs8_v2_with_public_key() {
    use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
    use ed25519_dalek::pkcs8::{EncodePrivateKey, KeypairBytes, PublicKeyBytes};
    let sk = seed(OPENSSL_SEED);
    let v2 = KeypairBytes {
        secret_key: *sk.seed(),
        public_key: Some(PublicKeyBytes(*sk.public_key().bytes())),
    };
    let pem = v2.to_pkcs8_pem(LineEnding::LF).unwrap();
    assert_eq!(SigningKey::from_pkcs8_pem(&pem).unwrap().seed(), sk.seed());
    // An embedded public key that is not the seed's is refused, not ignored.
    let lying = KeypairBytes {
        secret_key: *sk.seed(),
        public_key: Some(PublicKeyBytes(*seed(RFC8032_SEED).public_key().bytes())),
    };
    let pem = lying.to_pkcs8_pem(LineEnding::LF).unwrap();
    assert_eq!(code(SigningKey::from_pkcs8_pem(&pem)), Code::PemInvalid);
}
