"""Checked with `mypy --strict` against the stubs (tests/test_typing.py)."""

from typing import Dict, List, Optional

import modei_core as m


def tour() -> Optional[str]:
    key: m.SigningKey = m.SigningKey.generate()
    pk: m.PublicKey = key.public_key
    sig: bytes = key.sign(b"hi")
    pk.verify(b"hi", sig)
    ok: bool = pk.is_valid("hi", sig)
    jwk: Dict[str, str] = pk.to_jwk()
    canon: str = m.canonicalize({"b": 1, "a": [1, 2]})
    store = m.TrustStore()
    store.add_issuer({"id": "acme", "type": "platform", "keys": [{"kid": "k", "jwk": jwk}]})
    token: str = m.self_issue_passport(key, permissions=["a:b"], ttl_seconds=60)
    verifier = m.Verifier(store, allow_self_issued=True, gate_id="g")
    p: m.Passport = verifier.verify(token)
    tier: str = p.tier
    perms: List[m.Permission] = p.permissions
    env: m.VerifiedEnvelope = m.verify_envelope(m.self_issue_passport(key, form="envelope", ttl_seconds=60))
    gate = m.Gate({"gate_id": "g", "trust_store": store})
    d: m.Decision = gate.check(passport=token, action="a:b")
    holds: List[m.Hold] = gate.pending_holds()
    report: m.LogReport = m.verify_log(gate.export_log() or b"", [gate.attestation_key or {}])
    try:
        m.inspect_passport("x")
    except m.PassportError as e:
        code: str = e.code
        print(code)
    print(ok, canon, tier, perms, env.tier, holds, report.ok, d.allowed)
    return d.reason
