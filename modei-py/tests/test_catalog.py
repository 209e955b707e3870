"""testvectors/catalog in Python: verdicts, diffs and pin checks from expected.json / the diff files."""

import json

import pytest

import modei_core as m
from conftest import VECTORS, load

DIR = VECTORS / "catalog"
EXP = load("catalog/expected.json")
GK = [{"gate_id": EXP["gate_id"], "key_id": EXP["key_id"], "public_key": EXP["public_key"]}]


@pytest.mark.parametrize("v", EXP["verify"], ids=[v["file"] for v in EXP["verify"]])
def test_verify(v):
    text = (DIR / v["file"]).read_text()
    if v["expect"] == "ok":
        c = m.verify_catalog(text, GK)
        assert c["content_hash"] == EXP["content_hashes"][str(c["version"])]
    else:
        with pytest.raises(m.ModeiError) as e:
            m.verify_catalog(text, GK)
        assert e.value.code == v["expect"]


@pytest.mark.parametrize("old,new,f", [(1, 2, "diff_v1_v2.json"), (2, 3, "diff_v2_v3.json")])
def test_diffs(old, new, f):
    got = m.diff_catalogs((DIR / f"catalog_v{old}.json").read_text(), (DIR / f"catalog_v{new}.json").read_text())
    assert got == json.loads((DIR / f).read_text())


def test_pins():
    cats = [json.loads((DIR / f"catalog_v{i}.json").read_text()) for i in (1, 2, 3)]
    s = m.CatalogSet(EXP["gate_id"], cats, GK)
    assert s.current_version == 3
    for p in EXP["pins"]:
        pin = {"gate_id": p["gate_id"], "version": p["version"], "content_hash": p["content_hash"]}
        if isinstance(p["expect"], int):
            assert s.check_pin(pin)["version"] == p["expect"], p["proves"]
        else:
            with pytest.raises(m.CatalogError) as e:
                s.check_pin(pin)
            assert e.value.code == p["expect"], p["proves"]
