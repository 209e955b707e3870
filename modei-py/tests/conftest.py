import json
import pathlib

import pytest

VECTORS = pathlib.Path(__file__).resolve().parents[2] / "testvectors"


def load(rel: str):
    return json.loads((VECTORS / rel).read_text(encoding="utf-8"))


@pytest.fixture
def vectors():
    return load
