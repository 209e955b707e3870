"""The Python binding's version, error table and exception hierarchy."""

import re

import pytest

import modei_core as m

FAMILY_CLASS = {
    "canonicalization": m.CanonicalizationError,
    "key": m.ModeiKeyError,
    "passport": m.PassportError,
    "trust": m.TrustError,
    "constraint": m.ConstraintError,
    "attestation": m.AttestationError,
    "catalog": m.CatalogError,
    "state": m.StateError,
    "input": m.InvalidInputError,
}


def test_version():
    assert re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?", m.__version__)


def test_import_name_does_not_clash_with_modei():
    assert m.__name__ == "modei_core"


def test_error_table():
    table = m.error_codes()
    assert len(table) > 50
    codes = [row["code"] for row in table]
    assert len(codes) == len(set(codes)), "duplicate codes"
    for row in table:
        assert set(row) == {"code", "family", "class", "meaning"}
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", row["code"]), row["code"]
        assert row["family"] in FAMILY_CLASS, row["family"]
        assert row["class"] == FAMILY_CLASS[row["family"]].__name__
        assert row["meaning"].strip()
    assert {row["family"] for row in table} == set(FAMILY_CLASS)
    for known in ("json_syntax", "signature_invalid", "passport_expired", "invalid_argument"):
        assert known in codes


def test_hierarchy():
    assert issubclass(m.ModeiError, Exception)
    for cls in FAMILY_CLASS.values():
        assert issubclass(cls, m.ModeiError)
        assert cls.__module__ == "modei_core"
    for a in FAMILY_CLASS.values():
        for b in FAMILY_CLASS.values():
            if a is not b:
                assert not issubclass(a, b)


@pytest.mark.parametrize("row", m.error_codes(), ids=lambda r: r["code"])
def test_every_code_raises_its_family_class(row):
    with pytest.raises(FAMILY_CLASS[row["family"]]) as info:
        m._raise_for_test(row["code"], "detail for " + row["code"])
    e = info.value
    assert type(e) is FAMILY_CLASS[row["family"]]
    assert isinstance(e, m.ModeiError)
    assert e.code == row["code"]
    assert e.family == row["family"]
    assert e.detail == "detail for " + row["code"]
    assert str(e) == f"{row['code']}: detail for {row['code']}"


def test_catch_as_base_class():
    with pytest.raises(m.ModeiError) as info:
        m._raise_for_test("passport_expired")
    assert info.value.code == "passport_expired"


def test_unknown_code_is_invalid_input():
    with pytest.raises(m.InvalidInputError) as info:
        m._raise_for_test("no_such_code")
    assert info.value.code == "invalid_argument"
    assert "no_such_code" in info.value.detail
