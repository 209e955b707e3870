"""Gates from Python sharing state through Redis (`"redis": {"url": ...}` in the gate config).

A real `redis-server` on 127.0.0.1 (a free port, its own data dir), started for this module and
stopped after it. Without one on PATH these tests are skipped, unless MODEI_REQUIRE_REDIS or CI
is set (as `scripts/test.sh` does), where a missing server is a failure.
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest

import modei_core as m

AGENT = m.SigningKey.from_seed(bytes([9] * 32))
GATE_SEED = bytes([7] * 32)
NOW = "2026-06-01T12:00:00.000Z"


@pytest.fixture(scope="module")
def redis_url():
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("MODEI_REQUIRE_REDIS") or os.environ.get("CI"):
            pytest.fail("redis-server is required (CI / MODEI_REQUIRE_REDIS) but was not found")
        pytest.skip("no redis-server on PATH")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    d = tempfile.mkdtemp(prefix="modei-py-redis-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", d, "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.time() > deadline:
                proc.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/"
    proc.terminate()
    proc.wait(timeout=10)
    shutil.rmtree(d, ignore_errors=True)


def config(url, gate_id, **extra):
    cfg = {
        "gate_id": gate_id,
        "profile": "L1",
        "signing_key": {"seed_hex": GATE_SEED.hex(), "key_id": "gk1"},
        "checkpoints": False,
        "redis": {"url": url, "timeout_ms": 2000},
    }
    cfg.update(extra)
    return cfg


def passport(constraints):
    return m.self_issue_passport(
        AGENT, permissions=[{"permission_key": "pay:*", "constraints": constraints}],
        issued_at="2026-06-01T00:00:00Z", expires_at="2026-06-02T00:00:00Z")


def test_two_gates_share_a_daily_cap_exactly(redis_url):
    tok = passport({"core:cost:max_cumulative": 10000})
    gates = [m.Gate(config(redis_url, "py-cap")) for _ in range(2)]
    allowed = [0, 0]

    def hammer(i):
        for _ in range(30):
            if gates[i].check(passport=tok, action="pay:send", cost_cents=500, now=NOW).allowed:
                allowed[i] += 1

    ts = [threading.Thread(target=hammer, args=(i,)) for i in (0, 1)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    # 10,000 cents a day at 500 per request: exactly 20 allowed across both gates.
    assert sum(allowed) == 20, allowed


def test_replicas_with_shared_chains_write_one_chain(redis_url):
    tok = passport({})
    gates = [m.Gate(config(redis_url, "py-chain", shared_chains=True)) for _ in range(3)]
    for i in range(30):
        assert gates[i % 3].check(passport=tok, action="pay:read", now=NOW).allowed
    records = []
    for g in gates:
        records += [json.loads(line) for line in g.export_log().splitlines() if line]
    records.sort(key=lambda r: r["sequence"])
    assert [r["sequence"] for r in records] == list(range(1, 31))
    report = m.verify_log(b"".join(json.dumps(r).encode() + b"\n" for r in records),
                          [gates[0].attestation_key])
    assert report.ok and report.records == 30, report


def test_unreachable_redis_fails_closed():
    # Nothing listens on port 1: every check blocks with state_unavailable, none is allowed.
    g = m.Gate(config("redis://127.0.0.1:1/", "py-gone"))
    d = g.check(passport=passport({"core:cost:max_cumulative": 100}), action="pay:send",
                cost_cents=1, now=NOW)
    assert d.decision == "block" and d.reason == "state_unavailable", d


def test_bad_redis_config_is_a_clear_error():
    with pytest.raises(m.InvalidInputError) as e:
        m.Gate({"gate_id": "g", "redis": {"url": "redis://x/", "timeout_ms": 0}})
    assert e.value.code == "invalid_argument" and "timeout_ms" in str(e.value)
    with pytest.raises(m.InvalidInputError) as e:
        m.Gate({"gate_id": "g", "redis": {"url": "redis://x/", "nonsense": 1}})
    assert "nonsense" in str(e.value)
