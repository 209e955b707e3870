"""testvectors/attestation in Python: the first failure (index, code) must match expected.json."""

import io
import json

import pytest

import modei_core as m
from conftest import VECTORS, load

DIR = VECTORS / "attestation"
KEYS = load("attestation/keys.json")
EXPECTED = load("attestation/expected.json")
GATE_KEYS = [{"gate_id": KEYS["gate_id"], "key_id": KEYS["key_id"], "public_key": KEYS["public_key"]}]


def _cps(case):
    return [json.loads((DIR / c).read_text()) for c in case["checkpoints"]]


CASES = EXPECTED["cases"]
IDS = [f"{c['file']}+{len(c['checkpoints'])}cp+{i}" for i, c in enumerate(CASES)]


def _check(report, case):
    want = case["first_error"]
    if want is None:
        assert report.ok, report
        assert report.first_error is None
    else:
        assert not report.ok
        assert (report.first_error["index"], report.first_error["code"]) == (want["index"], want["code"])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_log_from_path(case):
    _check(m.verify_log(str(DIR / case["file"]), GATE_KEYS, checkpoints=_cps(case)), case)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_log_from_bytes_file_and_chunks(case):
    data = (DIR / case["file"]).read_bytes()
    _check(m.verify_log(data, GATE_KEYS, checkpoints=_cps(case)), case)
    _check(m.verify_log(io.BytesIO(data), GATE_KEYS, checkpoints=_cps(case)), case)
    # Chunks that cut lines anywhere.
    chunks = [data[i:i + 37] for i in range(0, len(data), 37)]
    _check(m.verify_log(iter(chunks), GATE_KEYS, checkpoints=_cps(case)), case)


def test_valid_chain_records_verify_one_by_one():
    lines = (DIR / "chain_valid.jsonl").read_bytes().splitlines()
    seqs = [m.verify_attestation(line, GATE_KEYS)["sequence"] for line in lines]
    assert seqs == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_tampered_record_refused_alone():
    line = (DIR / "tampered_byte.jsonl").read_bytes().splitlines()[4]
    with pytest.raises(m.AttestationError) as e:
        m.verify_attestation(line, GATE_KEYS)
    assert e.value.code == "attestation_signature_invalid"


def test_unknown_key_refused():
    line = (DIR / "chain_valid.jsonl").read_bytes().splitlines()[0]
    other = m.SigningKey.from_seed(bytes(32)).public_key.to_base64url()
    with pytest.raises(m.ModeiError) as e:
        m.verify_attestation(line, [dict(GATE_KEYS[0], public_key=other, key_id="other")])
    assert e.value.code == "key_unknown"


def test_checkpoints_verify():
    for f in ("checkpoint_pp_alpha.json", "checkpoint_log.json"):
        cp = m.verify_checkpoint((DIR / f).read_text(), GATE_KEYS)
        assert cp["gate_id"] == KEYS["gate_id"]
