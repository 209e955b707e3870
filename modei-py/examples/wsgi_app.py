"""A plain WSGI app (no dependencies) that gates a route with a passport header.

    python modei-py/examples/wsgi_app.py            # serves on http://127.0.0.1:8000

    GET /flights/search?cost=1200   with header  X-Modei-Passport: <JWT or envelope wire JSON>

The gate decides allow / request_hold / block; the response carries the decision and, when the
gate attested it, the signed attestation record. Running the file also prints a demo token.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, Iterable, List, Tuple
from urllib.parse import parse_qs

import modei_core

# In a real deployment: load the trust store and gate key from files / a secret store.
GATE_KEY = modei_core.SigningKey.from_seed(bytes([0x31] * 32))
GATE = modei_core.Gate({
    "gate_id": "travel-api",
    "profile": "L1",  # L1 accepts self-issued passports (development)
    "signing_key": {"seed_hex": GATE_KEY.seed().hex(), "key_id": "travel-api-1"},
    "anonymous": {"enabled": True, "allowed_actions": ["flights:search"], "rate_limit_per_minute": 5},
})

ROUTES = {("GET", "/flights/search"): "flights:search", ("POST", "/flights/book"): "flights:book"}
STATUS = {"allow": "200 OK", "request_hold": "202 Accepted", "block": "403 Forbidden"}

StartResponse = Callable[[str, List[Tuple[str, str]]], Any]


def app(environ: Dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    action = ROUTES.get((environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")))
    if action is None:
        return _json(start_response, "404 Not Found", {"error": "no such route"})
    query = parse_qs(environ.get("QUERY_STRING", ""))
    request: Dict[str, Any] = {
        "action": action,
        "target": f"https://travel.example{environ.get('PATH_INFO', '/')}",
        "cost_cents": int(query.get("cost", ["0"])[0] or 0),
        "metadata": {"method": environ.get("REQUEST_METHOD", "GET")},
    }
    passport = environ.get("HTTP_X_MODEI_PASSPORT")
    if passport:
        request["passport"] = passport
    else:
        request["client_id"] = environ.get("REMOTE_ADDR", "unknown")
    try:
        decision = GATE.check(request)
    except modei_core.ModeiError as e:  # only a malformed request lands here
        return _json(start_response, "400 Bad Request", {"error": e.code, "detail": e.detail})
    body = {
        "decision": decision.decision,
        "reason": decision.reason,
        "detail": decision.detail,
        "hold_id": decision.hold_id,
        "attestation": decision.attestation,
    }
    if decision.allowed:
        body["result"] = {"flights": ["MO 101", "MO 202"]} if action == "flights:search" else {"booked": True}
    return _json(start_response, STATUS[decision.decision], body)


def _json(start_response: StartResponse, status: str, body: Dict[str, Any]) -> List[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def demo_passport() -> str:
    """A self-issued passport an agent would present (valid for an hour)."""
    agent = modei_core.SigningKey.from_seed(bytes([0xA1] * 32))
    return modei_core.self_issue_passport(
        agent, ttl_seconds=3600,
        permissions=["flights:search",
                     {"permission_key": "flights:book", "constraints": {"core:cost:max_per_action": 50000}}])


if __name__ == "__main__":
    from wsgiref.simple_server import make_server

    print("X-Modei-Passport:", demo_passport())
    with make_server("127.0.0.1", 8000, app) as server:
        print("serving on http://127.0.0.1:8000")
        server.serve_forever()
