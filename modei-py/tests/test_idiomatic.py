"""Idiomatic use: the WSGI example in-process, a FastAPI-style handler, pickling, repr, errors."""

import importlib.util
import io
import json
import pathlib
import pickle

import pytest

import modei_core as m

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "wsgi_app.py"


def _load_example():
    spec = importlib.util.spec_from_file_location("wsgi_app", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _call(app, method, path, query="", headers=None):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
               "REMOTE_ADDR": "127.0.0.1", "wsgi.input": io.BytesIO(b"")}
    for k, v in (headers or {}).items():
        environ["HTTP_" + k.upper().replace("-", "_")] = v
    seen = {}

    def start_response(status, hdrs):
        seen["status"] = status

    body = b"".join(app(environ, start_response))
    return seen["status"], json.loads(body)


def test_wsgi_example_in_process():
    ex = _load_example()
    tok = ex.demo_passport()
    status, body = _call(ex.app, "GET", "/flights/search", headers={"X-Modei-Passport": tok})
    assert status == "200 OK" and body["decision"] == "allow"
    att = body["attestation"]
    assert att["action"] == "flights:search" and att["decision"] == "allow"
    # The attestation verifies against the gate's published key.
    assert m.verify_attestation(att, [ex.GATE.attestation_key])["sequence"] == att["sequence"]
    status, body = _call(ex.app, "POST", "/flights/book", "cost=90000", {"X-Modei-Passport": tok})
    assert status == "403 Forbidden" and body["reason"] == "core:cost:max_per_action"
    status, body = _call(ex.app, "GET", "/flights/search", headers={"X-Modei-Passport": "junk"})
    assert status == "403 Forbidden" and body["reason"] == "jwt_malformed"
    status, body = _call(ex.app, "GET", "/flights/search")  # anonymous
    assert status == "200 OK" and body["decision"] == "allow"
    assert m.verify_log(ex.GATE.export_log(), [ex.GATE.attestation_key]).ok


def test_fastapi_style_dependency():
    """What a FastAPI dependency does, without FastAPI: header in, Passport or 401 out."""
    issuer = m.SigningKey.from_seed(bytes([5] * 32))
    agent = m.SigningKey.from_seed(bytes([6] * 32))
    store = m.TrustStore.from_json({"version": 1, "issuers": [{"id": "acme", "type": "platform", "keys": [
        {"kid": "k1", "jwk": issuer.public_key.to_jwk()}]}]})
    verifier = m.Verifier(store, gate_id="api")

    class HTTPException(Exception):
        def __init__(self, status, detail):
            self.status, self.detail = status, detail

    def require_passport(authorization: str) -> m.Passport:
        scheme, _, token = authorization.partition(" ")
        try:
            return verifier.verify(token)
        except (m.PassportError, m.TrustError) as e:
            raise HTTPException(401, {"code": e.code, "detail": e.detail})

    tok = m.issue_passport(issuer, "acme", "k1", agent_key=agent.public_key, permissions=["api:read"],
                           ttl_seconds=600, audience="api")
    p = require_passport(f"Bearer {tok}")
    assert p.tier == "L1" and p.has_permission("api:read") and not p.has_permission("api:write")
    assert p.root_issuer["id"] == "acme" and p.agent_id == agent.public_key.agent_id
    other = m.issue_passport(issuer, "acme", "k1", agent_key=agent.public_key, ttl_seconds=600, audience="elsewhere")
    with pytest.raises(HTTPException) as e:
        require_passport(f"Bearer {other}")
    assert e.value.status == 401 and e.value.detail["code"] == "audience_mismatch"


def test_results_are_objects_with_dicts_and_json():
    k = m.SigningKey.from_seed(bytes(32))
    p = m.Verifier(allow_self_issued=True).verify(m.self_issue_passport(k, permissions=["a:b"], ttl_seconds=60))
    d = p.to_dict()
    assert d["passport_id"] == p.passport_id and p["tier"] == "L0" and "tier" in p
    assert json.loads(p.to_json()) == d
    assert p.to_json() == m.canonicalize(d)  # canonical: the same bytes in every language
    assert "Passport(passport_id=" in repr(p)
    with pytest.raises(AttributeError):
        p.nope
    with pytest.raises(AttributeError):
        p.tier = "L3"


def test_pickling_policy():
    k = m.SigningKey.from_seed(bytes(32))
    # Results and public values pickle; secrets and live objects refuse.
    p = m.Verifier(allow_self_issued=True).verify(m.self_issue_passport(k, ttl_seconds=60))
    assert pickle.loads(pickle.dumps(p)) == p
    assert pickle.loads(pickle.dumps(k.public_key)) == k.public_key
    ts = m.TrustStore([{"id": "acme", "type": "gate", "keys": [{"kid": "a", "public_key": k.public_key.to_base64()}]}])
    assert pickle.loads(pickle.dumps(ts)).to_json() == ts.to_json()
    with pytest.raises(TypeError):
        pickle.dumps(k)
    with pytest.raises(TypeError):
        pickle.dumps(m.Gate({"gate_id": "g"}))


def test_reprs_never_show_secrets():
    k = m.SigningKey.from_seed(bytes([1] * 32))
    assert k.to_seed_hex() not in repr(k) and k.public_key.to_base64() in repr(k)
    assert repr(k.public_key).startswith("PublicKey(")
    assert repr(m.Gate({"gate_id": "g"})) == 'Gate(gate_id="g")'


def test_keys_round_trip_every_format():
    k = m.SigningKey.generate()
    for fmt in ("seed_base64", "seed_base64url", "seed_hex", "pem"):
        assert m.SigningKey.import_key(fmt, k.export(fmt)).public_key == k.public_key
    assert m.SigningKey.import_key("jwk", k.export("jwk")).public_key == k.public_key
    assert m.SigningKey.import_key("seed", k.seed()).public_key == k.public_key
    pk = k.public_key
    for fmt in ("base64", "base64url", "hex", "pem", "jwk"):
        assert m.PublicKey.import_key(fmt, pk.export(fmt)) == pk
    sig = k.sign("hello")
    assert len(sig) == 64 and pk.is_valid(b"hello", sig) and not pk.is_valid(b"hellO", sig)
    m.verify_signature(pk.to_bytes(), b"hello", sig)
    with pytest.raises(m.ModeiKeyError) as e:
        m.verify_signature(pk, b"other", sig)
    assert e.value.code == "signature_invalid"


def test_envelope_delegation_both_forms():
    root = m.SigningKey.from_seed(bytes([1] * 32))
    child = m.SigningKey.from_seed(bytes([2] * 32))
    v = m.Verifier(allow_self_issued=True)
    for form in ("jwt", "envelope"):
        parent = m.self_issue_passport(root, form=form, permissions=["a:read", "a:write"], ttl_seconds=600,
                                       delegation_authority=True)
        kid = m.delegate_passport(parent, root, child.public_key, permissions=["a:read"], ttl_seconds=60)
        p = v.verify(kid)
        assert p.form == ("jwt" if form == "jwt" else "v2_envelope")
        assert len(p.lineage) == 1 and p.agent_id == child.public_key.agent_id
        assert m.inspect_passport(kid).verified is False
        with pytest.raises(m.PassportError):
            m.delegate_passport(parent, root, child.public_key, permissions=["b:write"], ttl_seconds=60)


def test_readme_tour_runs(capsys):
    import re
    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out.split("\n")
    assert out[1].startswith("allow None 1") and out[2] == "block core:cost:max_per_action"
    assert out[3].startswith("request_hold appr_") and out[4] == "True 3" and out[5] == "jwt_malformed"
