"""Type stubs for the native module ``modei_core`` (built from modei-py/src/lib.rs)."""

from typing import List, TypedDict

__version__: str

# family is one of: canonicalization, key, passport, trust, constraint, attestation, catalog,
# state, input; class is the exception class name raised for that family.
ErrorCodeInfo = TypedDict(
    "ErrorCodeInfo", {"code": str, "family": str, "class": str, "meaning": str}
)

class ModeiError(Exception):
    """Base class of every modei error."""

    code: str
    """Stable snake_case error code, e.g. ``"passport_expired"``."""
    detail: str
    """Human-readable detail naming the field or path at fault."""
    family: str

class CanonicalizationError(ModeiError): ...
class ModeiKeyError(ModeiError): ...
class PassportError(ModeiError): ...
class TrustError(ModeiError): ...
class ConstraintError(ModeiError): ...
class AttestationError(ModeiError): ...
class CatalogError(ModeiError): ...
class StateError(ModeiError): ...
class InvalidInputError(ModeiError): ...

def error_codes() -> List[ErrorCodeInfo]:
    """Every error code as ``{"code", "family", "class", "meaning"}`` dicts, in table order."""
    ...

def _raise_for_test(code: str, detail: str = ...) -> None:
    """Test hook: always raises the exception for ``code``. Not part of the API."""
    ...
