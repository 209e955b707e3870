#!/usr/bin/env python3
"""Builds the seed corpora of the cargo-fuzz targets (fuzz/corpus/<target>/) from testvectors/
and testvectors/reference/. Idempotent; file names are content hashes."""
import hashlib, json, os, pathlib, sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
TV = ROOT / "testvectors"
OUT = ROOT / "fuzz" / "corpus"


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def load(p):
    return json.loads((TV / p).read_text())


def walk(v):
    yield v
    if isinstance(v, dict):
        for x in v.values():
            yield from walk(x)
    elif isinstance(v, list):
        for x in v:
            yield from walk(x)


# JSON + canonicalizer: every JCS vector input, every JSON file.
jcs = load("reference/jcs-vectors.json")
for v in walk(jcs):
    if isinstance(v, dict):
        for k in ("input", "json", "text"):
            if isinstance(v.get(k), str):
                put("json_canonical", v[k])
for p in list(TV.glob("*.json")) + list(TV.glob("*/*.json")):
    if p.stat().st_size < 200_000:
        put("json_canonical", p.read_bytes())

# Envelopes: every envelope+signature pair.
for name in ("reference/modei-v2-vectors.json", "envelopes.json"):
    try:
        doc = load(name)
    except Exception:
        continue
    for v in walk(doc):
        if isinstance(v, dict) and isinstance(v.get("envelope"), dict) and "signature" in v:
            put("envelope_verify", json.dumps({"envelope": v["envelope"], "signature": v["signature"]}))
put("envelope_verify", (TV / "sample-passport.json").read_bytes())

# JWTs: every token string in the JWT vector files.
for p in (TV / "jwt").glob("*.json"):
    for v in walk(json.loads(p.read_text())):
        if isinstance(v, str) and v.startswith("eyJ"):
            put("jwt_verify", v)

# Trust store and revocation files.
put("trust_revocation", (TV / "jwt" / "trust-store.json").read_bytes())
for v in walk(load("jwt/trust-store.json")):
    if isinstance(v, dict) and "revoked" in v and isinstance(v["revoked"], dict):
        put("trust_revocation", json.dumps(v["revoked"]))
put("trust_revocation", json.dumps({"version": 1, "as_of": "2026-01-01T00:00:00Z",
    "passports": ["pp_1"], "agents": ["agent_1"], "issuer_keys": [{"issuer": "acme", "kid": "k1"}]}))

# Constraints: every constraints object in the vector files.
for p in list(TV.glob("*.json")) + list((TV / "jwt").glob("*.json")) + list((TV / "catalog").glob("*.json")):
    for v in walk(json.loads(p.read_text())):
        if isinstance(v, dict) and isinstance(v.get("constraints"), dict) and v["constraints"]:
            put("constraints_eval", json.dumps({"constraints": v["constraints"], "action": "flights:book",
                "target": "https://api.flights.example/v1/book", "cost": 4500, "metadata": {"method": "POST"}}))
put("constraints_eval", json.dumps({"constraints": {"core:rate:per_minute": 2, "core:cost:per_day_cents": 10000,
    "core:scope:domain_allowlist": ["*.example"], "core:data:read_only": True}, "action": "api:read", "cost": 50}))

# CEL expressions.
for e in ["request.cost_cents < 5000", "state.spend_day + request.cost_cents <= 10000",
          "request.action.startsWith('flights:') && request.metadata.method == 'POST'",
          "request.metadata.tags.exists(t, t == 'a')", "size(request.target.host) < 64",
          "[1,2,3].all(x, x > 0)", "request.metadata.n * 2 == 6", "'a' + 'b' == 'ab'",
          "timestamp('2026-01-01T00:00:00Z') < now"]:
    put("cel_eval", e)

# Attestation logs and catalogs.
for p in (TV / "attestation").glob("*.jsonl"):
    put("attestation_log", p.read_bytes())
for p in (TV / "catalog").glob("*.json"):
    if p.name.startswith("catalog_") or p.name in ("bad_signature.json", "tampered_content.json"):
        put("catalog_verify_diff", p.read_bytes())

# Gate (structured input): the corpus grows from the fuzzer itself; seed with a few byte strings.
for i in range(4):
    put("gate_check", bytes((i * 37 + j) % 256 for j in range(200)) if i else b"\x00" * 64)

for d in sorted(OUT.iterdir()):
    print(f"{d.name}: {len(list(d.iterdir()))} seeds", file=sys.stderr)

# The gate: every gate vector's config and request (its passport included); and the same
# configs with the vector's permissions re-issued by the fuzzer (the "permissions" member).
for v in load("gate/vectors.json")["vectors"]:
    put("gate_check", json.dumps({"config": v["config"], "request": v["request"]}))
    put("gate_check", json.dumps({"config": v["config"], "request": {k: x for k, x in v["request"].items() if k != "passport"},
                                  "permissions": [{"permission_key": "*", "constraints": {}}]}))
