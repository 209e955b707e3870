"""The stubs: mypy --strict accepts an example using the whole API, and every public name in the
stubs exists at run time (and the other way round)."""

import ast
import pathlib
import shutil
import subprocess
import sys

import pytest

import modei_core as m

HERE = pathlib.Path(__file__).resolve().parent
STUB = pathlib.Path(m.__file__).with_name("__init__.pyi")


def test_stub_and_runtime_names_agree():
    tree = ast.parse(STUB.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
    protocols = {"RevocationSource", "ApprovalNotifier", "PiiDetector", "IssuerInfo", "Permission", "LogError"}
    missing = sorted(n for n in names - protocols if not hasattr(m, n))
    assert not missing, f"in the stubs but not the module: {missing}"
    public = {n for n in m.__all__}
    undocumented = sorted(public - names)
    assert not undocumented, f"exported but not in the stubs: {undocumented}"


@pytest.mark.skipif(shutil.which("mypy") is None and not (pathlib.Path(sys.executable).parent / "mypy").exists(),
                    reason="mypy not installed")
def test_mypy_strict_on_example():
    r = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                        str(HERE / "typecheck" / "example_typed.py")],
                       capture_output=True, text=True, cwd=HERE)
    assert r.returncode == 0, r.stdout + r.stderr
