"""Malformed input to every entry point raises ModeiError (or yields a failing result); never a
crash, never another exception type."""

import pytest

import modei_core as m

GARBAGE = ["", "{", "}", "null", "[]", "[1,2", '{"a":1}', '{"a":1,"a":2}', "x" * 70000, "a.b.c",
           "\ud800", "[" * 5000 + "]" * 5000, '{"envelope": 1, "signature": 2}',
           b"\xff\xfe\x00", b"", "e30.e30.e30", '"\\u0000"', "1e999"]

KEY = m.SigningKey.from_seed(bytes(32))
GATE = m.Gate({"gate_id": "g", "signing_key": {"seed_hex": "11" * 32}})
VERIFIER = m.Verifier(allow_self_issued=True)
GK = [GATE.attestation_key]


def as_text(g):
    return g.decode("latin-1") if isinstance(g, bytes) else g


ENTRY_POINTS = {
    "canonicalize": lambda g: m.canonicalize(g),
    "content_hash": lambda g: m.content_hash(g),
    "parse_json": lambda g: m.parse_json(g),
    "PublicKey": lambda g: m.PublicKey(g),
    "PublicKey.from_base64": lambda g: m.PublicKey.from_base64(as_text(g)),
    "PublicKey.from_pem": lambda g: m.PublicKey.from_pem(as_text(g)),
    "PublicKey.from_jwk": lambda g: m.PublicKey.from_jwk(g),
    "PublicKey.import_key": lambda g: m.PublicKey.import_key("raw", g),
    "SigningKey.from_seed": lambda g: m.SigningKey.from_seed(g),
    "SigningKey.from_seed_hex": lambda g: m.SigningKey.from_seed_hex(as_text(g)),
    "SigningKey.from_pem": lambda g: m.SigningKey.from_pem(as_text(g)),
    "SigningKey.from_jwk": lambda g: m.SigningKey.from_jwk(g),
    "SigningKey.from_credentials": lambda g: m.SigningKey.from_credentials(as_text(g)),
    "load_credentials": lambda g: m.load_credentials(g),
    "verify_signature": lambda g: m.verify_signature(KEY.public_key, b"m", g),
    "PublicKey.verify": lambda g: KEY.public_key.verify(b"m", g),
    "TrustStore.from_json": lambda g: m.TrustStore.from_json(g),
    "TrustStore.add_issuer": lambda g: m.TrustStore().add_issuer(g),
    "RevocationList.from_json": lambda g: m.RevocationList.from_json(g),
    "Verifier(trust_store=)": lambda g: m.Verifier(g),
    "Verifier(revocation=)": lambda g: m.Verifier(revocation=g),
    "Verifier.verify": lambda g: VERIFIER.verify(g),
    "verify_envelope": lambda g: m.verify_envelope(g),
    "verify_detached": lambda g: m.verify_detached(g, "sig"),
    "inspect_passport": lambda g: m.inspect_passport(g),
    "delegate_passport(jwt)": lambda g: m.delegate_passport(as_text(g) or "x", KEY, KEY.public_key, ttl_seconds=5),
    "delegate_passport(envelope)": lambda g: m.delegate_passport("{" + as_text(g), KEY, KEY.public_key, ttl_seconds=5),
    "self_issue_passport(permissions=)": lambda g: m.self_issue_passport(KEY, permissions=g, ttl_seconds=5),
    "self_issue_passport(expires_at=)": lambda g: m.self_issue_passport(KEY, expires_at=as_text(g)),
    "Gate(config)": lambda g: m.Gate(g),
    "Gate.check(text)": lambda g: _decision_or_raise(GATE.check(g if g else "x")),
    "Gate.dry_run(text)": lambda g: _decision_or_raise(GATE.dry_run(g if g else "x")),
    "Gate.deny_hold": lambda g: GATE.deny_hold(g if g else "x"),
    "sign_approval": lambda g: m.sign_approval(KEY, hold_id=g, decision="x"),
    "request_digest": lambda g: m.request_digest("g", None, g if g else "x"),
    "verify_attestation": lambda g: m.verify_attestation(g, GK),
    "verify_checkpoint": lambda g: m.verify_checkpoint(g, GK),
    "verify_log(bytes)": lambda g: _report_or_raise(m.verify_log(g if isinstance(g, bytes) else g.encode("utf-8", "surrogatepass"), GK)),
    "verify_log(gate_keys)": lambda g: m.verify_log(b"", g),
}


def _decision_or_raise(d):
    assert d.decision == "block"  # a garbage passport in a valid request: a result
    raise m.ModeiError("block")


def _report_or_raise(r):
    if not r.ok or r.records == 0:
        raise m.ModeiError("report")


# Inputs that are valid for an entry point (valid JSON for the JSON tools; nothing to verify).
VALID_FOR = {
    "canonicalize": {"null", "[]", '{"a":1}', '{"a":1,"a":2}', '"\\u0000"', '{"envelope": 1, "signature": 2}'},
    "content_hash": {"null", "[]", '{"a":1}', '{"a":1,"a":2}', '"\\u0000"', '{"envelope": 1, "signature": 2}'},
    "parse_json": {"null", "[]", '{"a":1}', '"\\u0000"', '{"envelope": 1, "signature": 2}'},
    "inspect_passport": {'{"envelope": 1, "signature": 2}', "e30.e30.e30"},  # decodes, verifies nothing
    "verify_log(gate_keys)": {"[]"},  # no trusted key, empty log: nothing to refuse
}


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_garbage_raises_modei_error(name):
    fn = ENTRY_POINTS[name]
    for g in GARBAGE:
        if g in VALID_FOR.get(name, ()):
            continue
        try:
            fn(g)
        except m.ModeiError:
            continue
        except UnicodeEncodeError:
            continue  # a lone surrogate cannot even cross into Rust as UTF-8
        else:
            pytest.fail(f"{name}({g!r:.40}) returned instead of raising")


def test_wrong_python_types_raise_type_or_modei_errors():
    for bad in (object(), [object()], {1: 2}, {"a": float("nan")}):
        with pytest.raises((m.ModeiError, TypeError)):
            m.canonicalize(bad)
