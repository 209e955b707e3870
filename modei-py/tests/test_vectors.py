"""The shared vector suite in Python: expected values come from the files, never from our output."""

import hashlib
import json

import pytest

import modei_core as m
from conftest import VECTORS, load

# --- Modei v2 reference corpus -------------------------------------------------------------

V2 = load("reference/modei-v2-vectors.json")
DECISIONS = load("reference-decisions.json")
CLOCK = "2026-05-01T00:00:00.000Z"


def _flagged(case):
    return case.get("reference_quirk") is not None or case.get("reference_exception") is not None


def _run_v2(case):
    sig = case["signature"] if isinstance(case["signature"], str) else None
    if case.get("envelope_text") is not None:
        env = case["envelope_text"]  # parsed exactly as given
    elif isinstance(case["envelope"], dict):
        env = case["envelope"]
    else:  # a JSON value that is not an object: pass its JSON text
        env = json.dumps(case["envelope"])
    try:
        r = m.verify_detached(env, sig, now=CLOCK)
        return True, r.tier, None
    except m.ModeiError as e:
        return False, None, e.code


@pytest.mark.parametrize("case", V2["cases"], ids=[c["name"] for c in V2["cases"]])
def test_v2_reference_verdict(case):
    valid, tier, code = _run_v2(case)
    if _flagged(case):
        want = DECISIONS["cases"][case["name"]]
        assert (valid, code) == (want["valid"], want["reason_code"])
    else:
        want = case["expected"]
        assert (valid, tier, code) == (want["valid"], want["tier"], want["reason_code"])


def test_v2_corpus_size():
    assert len(V2["cases"]) == V2["summary"]["cases_in_this_file"]
    assert sum(not _flagged(c) for c in V2["cases"]) > 100


@pytest.mark.parametrize("k", V2["keys"], ids=[k["name"] for k in V2["keys"]])
def test_v2_key_derivations(k):
    key = m.SigningKey.from_seed(bytes.fromhex(k["seed_hex"]))
    pk = key.public_key
    assert pk.to_base64() == k["public_key_b64"]
    assert pk.to_hex() == k["public_key_hex"]
    assert pk.agent_id == k["agent_id"]
    assert pk.self_issuer_id == k["self_issuer_id"]
    assert pk.fingerprint == k["realtime_fingerprint"]


@pytest.mark.parametrize("v", V2["agent_id_vectors"], ids=[v["name"] for v in V2["agent_id_vectors"]])
def test_v2_agent_ids_from_raw_bytes(v):
    import base64
    import binascii
    if v["agent_id"] is None:  # the reference refuses the key text itself
        with pytest.raises(binascii.Error):
            base64.b64decode(v["public_key_b64"], validate=True)
        with pytest.raises(m.ModeiKeyError):
            m.PublicKey.from_base64(v["public_key_b64"])
        return
    assert m.derive_ids(base64.b64decode(v["public_key_b64"]))["agent_id"] == v["agent_id"]


@pytest.mark.parametrize("v", V2["credentials_vectors"], ids=[v["name"] for v in V2["credentials_vectors"]])
def test_v2_credentials(v):
    if v["expected_load"] == "ok":
        key, info = m.load_credentials(v["file_text"])
        assert info["agent_id"] == json.loads(v["file_text"])["agent_id"]
        if set(json.loads(v["file_text"])) == {"agent_id", "created_at", "private_key_base64", "public_key_base64", "version"}:
            # Saving reproduces the file (extra members are accepted on load, not kept).
            assert key.to_credentials(json.loads(v["file_text"])["created_at"]) == v["file_text"]
        if v.get("seed_hex"):
            assert key.seed() == bytes.fromhex(v["seed_hex"])
    else:
        with pytest.raises(m.ModeiKeyError) as ei:
            m.load_credentials(v["file_text"])
        assert ei.value.code == "credentials_invalid"


def test_v2_issuance_is_byte_identical():
    seeds = {k["public_key_b64"]: bytes.fromhex(k["seed_hex"]) for k in V2["keys"]}
    checked = 0
    for case in V2["cases"]:
        if case["category"] not in ("valid_self", "backend_kat") or _flagged(case):
            continue
        env = case["envelope"]
        if env["provenance"]["delegation_chain"] is not None:
            continue
        seed = seeds.get(env["identity"]["public_key"])
        if seed is None:
            continue
        wire = m._native.envelope_self_issue(
            m.SigningKey.from_seed(seed),
            passport_id=env["passport_id"],
            agent_name=env["identity"]["agent_name"],
            permissions=env["permissions"],
            issued_at=env["provenance"]["issued_at"],
            expires_at=env["provenance"]["expires_at"],
            delegation_authority=env["delegation_authority"],
            verification_evidence=env["verification_evidence"],
        )
        canon = m.canonicalize(wire["envelope"]).encode()
        assert hashlib.sha256(canon).hexdigest() == case["signing_input_sha256"], case["name"]
        assert wire["signature"] == case["signature"], case["name"]
        checked += 1
    assert checked >= 3


# --- RFC 8785 -------------------------------------------------------------------------------

JCS = load("reference/jcs-vectors.json")


@pytest.mark.parametrize("v", JCS["vectors"], ids=[v["name"] for v in JCS["vectors"]])
def test_jcs(v):
    if v["rejects"]:
        with pytest.raises(m.ModeiError):
            m.canonicalize(v["input_json"])
        return
    out = m.canonicalize(v["input_json"])
    assert out.encode().hex() == v["canonical_hex"]
    assert hashlib.sha256(out.encode()).hexdigest() == v["sha256"]
    assert m.content_hash(v["input_json"]) == v["sha256"]


CANON = load("canonical.json")


@pytest.mark.parametrize("c", CANON["cases"], ids=[c["name"] for c in CANON["cases"]])
def test_own_canonical(c):
    assert m.canonicalize(c["input_json"]) == c["canonical"]
    assert m.content_hash(c["input_json"]) == c["sha256"]


@pytest.mark.parametrize("text", CANON["rejects"])
def test_own_canonical_rejects(text):
    with pytest.raises(m.CanonicalizationError):
        m.canonicalize(text)


# --- Wycheproof Ed25519 ---------------------------------------------------------------------

WY = load("reference/wycheproof-ed25519_test.json")
WY_CASES = [(g["publicKey"]["pk"], t) for g in WY["testGroups"] for t in g["tests"]]


@pytest.mark.parametrize("pk,t", WY_CASES, ids=[str(t["tcId"]) for _, t in WY_CASES])
def test_wycheproof(pk, t):
    try:
        m.verify_signature(bytes.fromhex(pk), bytes.fromhex(t["msg"]), bytes.fromhex(t["sig"]))
        ok = True
    except m.ModeiError:
        ok = False
    assert ok == (t["result"] == "valid"), t["comment"]


def test_wycheproof_count():
    assert len(WY_CASES) == WY["numberOfTests"]


# --- Our own key and envelope vectors -------------------------------------------------------

KEYS = load("keys.json")


@pytest.mark.parametrize("k", KEYS["keys"], ids=[k["agent_id"] for k in KEYS["keys"]])
def test_own_keys(k):
    sk = m.SigningKey.from_seed_hex(k["seed_hex"])
    pk = sk.public_key
    assert pk.to_base64() == k["public_key_base64"]
    assert pk.to_base64url() == k["public_key_base64url"]
    assert pk.to_hex() == k["public_key_hex"]
    assert pk.to_jwk() == k["jwk"]
    assert pk.thumbprint == k["jwk_thumbprint"]
    assert pk.to_pem() == k["spki_pem"]
    assert sk.to_pem() == k["pkcs8_pem"]
    assert pk.agent_id == k["agent_id"]
    assert pk.self_issuer_id == k["self_issuer_id"]
    import base64
    assert base64.b64encode(sk.sign(b"abc")).decode() == k["signature_over_abc_base64"]
    # Every import path gives the same key.
    assert m.PublicKey.from_pem(k["spki_pem"]) == pk
    assert m.PublicKey.from_jwk(k["jwk"]) == pk
    assert m.PublicKey(k["public_key_base64url"]) == pk
    assert m.SigningKey.from_pem(k["pkcs8_pem"]).public_key == pk
    assert m.SigningKey.from_jwk(sk.to_jwk()).public_key == pk
    pk.verify(b"abc", k["signature_over_abc_base64"])


ENVS = load("envelopes.json")


@pytest.mark.parametrize("c", ENVS["cases"], ids=[c["name"] for c in ENVS["cases"]])
def test_own_envelopes(c):
    try:
        m.verify_envelope(c["passport"], now=c["now"])
        got = (True, None)
    except m.ModeiError as e:
        got = (False, e.code)
    assert got == (c["expected"]["valid"], c["expected"]["reason_code"])


# --- JWT passports --------------------------------------------------------------------------

def _verifier(cfg, store):
    cfg = dict(cfg)
    fr = cfg.pop("freshness", None)
    if fr is not None:
        key = "warn_after_ms" if fr["mode"] == "warn" else "deny_after_ms"
        cfg["revocation_freshness"] = {key: fr["max_age_ms"]}
    rev = cfg.pop("revocation", None)
    return m.Verifier(m.TrustStore.from_json(store), revocation=rev, **cfg)


JWT_CASES = [
    (f, c, doc["trust_store"])
    for f in ("passports", "attacks", "delegation")
    for doc in [load(f"jwt/{f}.json")]
    for c in doc["cases"]
]


@pytest.mark.parametrize("f,c,store", JWT_CASES, ids=[f"{f}:{c['id']}" for f, c, _ in JWT_CASES])
def test_jwt_vectors(f, c, store):
    v = _verifier(c.get("verifier", {}), store)
    want = c["expect"]
    try:
        p = v.verify(c["token"], now=c["now_ms"])
    except m.ModeiError as e:
        assert "error" in want, f"unexpected {e.code}: {e.detail}"
        assert e.code == want["error"]
        return
    assert "ok" in want, f"verified, expected {want}"
    ok = want["ok"]
    assert p.passport_id == ok["passport_id"]
    assert p.tier == ok["tier"]
    assert p.root_issuer["id"] == ok["root_issuer"]
    assert len(p.lineage) == ok["lineage_len"]
    assert len(p.warnings) == ok["warnings"]


# --- Gate vectors ---------------------------------------------------------------------------

GATE = load("gate/vectors.json")["vectors"]


@pytest.mark.parametrize("v", GATE, ids=[v["name"] for v in GATE])
def test_gate_vectors(v):
    g = m.Gate(v["config"])
    for p in v["prior"]:
        (g.dry_run if p.get("dry_run") else g.check)(p["request"], now=p["now"])
    dry = v.get("dry_run", False)
    d = (g.dry_run if dry else g.check)(v["request"], now=v["now"])
    assert d.dry_run is dry
    e = v["expect"]
    assert d.decision == e["decision"], d.to_dict()
    assert d.reason == e["reason"], d.to_dict()
    assert [{"key": x["key"], "outcome": x["outcome"]} for x in d.evaluations] == e["evaluations"]
