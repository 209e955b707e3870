"""modei_core: passports, gates and attestations for AI agents (Rust core, thin binding).

Everything here wraps ``modei_core._native``, which wraps ``modei_core::api`` in Rust: the same
functions the Node and WASM bindings use, so every language gives the same answers.
"""

from __future__ import annotations

import json as _json
from typing import Any, Dict, Iterator, List, Optional

from . import _native
from ._native import (  # noqa: F401  (re-exported)
    AttestationError,
    CanonicalizationError,
    CatalogSet,
    CatalogError,
    ConstraintError,
    InvalidInputError,
    ModeiError,
    ModeiKeyError,
    PassportError,
    PublicKey,
    RevocationList,
    SigningKey,
    StateError,
    TrustError,
    TrustStore,
    __version__,
    _raise_for_test,
    canonicalize,
    content_hash,
    derive_ids,
    diff_catalogs,
    error_codes,
    load_credentials,
    parse_json,
    request_digest,
    sign_approval,
    sign_pop,
    verify_catalog,
    verify_signature,
)

__all__ = [
    "AttestationError", "CanonicalizationError", "CatalogError", "ConstraintError",
    "InvalidInputError", "ModeiError", "ModeiKeyError", "PassportError", "StateError",
    "TrustError", "PublicKey", "SigningKey", "TrustStore", "RevocationList", "Verifier",
    "Passport", "VerifiedEnvelope", "InspectedPassport", "Record",
    "canonicalize", "content_hash", "derive_ids", "error_codes", "load_credentials",
    "parse_json", "verify_signature", "verify_envelope", "inspect_passport",
    "issue_passport", "self_issue_passport", "delegate_passport", "verify_detached",
    "Gate", "Decision", "Hold", "LogReport", "sign_approval", "sign_pop", "request_digest",
    "verify_log", "verify_attestation", "verify_checkpoint",
    "CatalogSet", "verify_catalog", "diff_catalogs",
]


class Record:
    """A result: attribute access over the core's JSON answer, plus ``to_dict()``/``to_json()``.

    Equal when their dicts are equal; picklable (rebuilt from the dict).
    """

    __slots__ = ("_d",)

    def __init__(self, data: Dict[str, Any]) -> None:
        object.__setattr__(self, "_d", data)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._d[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __getitem__(self, key: str) -> Any:
        return self._d[key]

    def __contains__(self, key: object) -> bool:
        return key in self._d

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._d == self._d  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(canonicalize(self._d))

    def __reduce__(self) -> Any:
        return (type(self), (self._d,))

    def __dir__(self) -> Any:
        return sorted(set(super().__dir__()) | set(self._d))

    def to_dict(self) -> Dict[str, Any]:
        """A deep copy of the underlying JSON object."""
        return _json.loads(_json.dumps(self._d))

    def to_json(self, canonical: bool = True) -> str:
        """JSON text (RFC 8785 canonical form by default: the same bytes in every language)."""
        return canonicalize(self._d) if canonical else _json.dumps(self._d)

    _repr_fields: tuple = ()

    def __repr__(self) -> str:
        fields = self._repr_fields or tuple(list(self._d)[:4])
        inner = ", ".join(f"{k}={self._d.get(k)!r}" for k in fields)
        return f"{type(self).__name__}({inner})"


class Passport(Record):
    """A verified passport, whatever its wire form (``docs/api.md`` § Passport object)."""

    __slots__ = ()
    _repr_fields = ("passport_id", "agent_id", "tier", "form")

    def has_permission(self, key: str) -> bool:
        return any(p["permission_key"] == key for p in self._d["permissions"])

    def permission(self, key: str) -> Optional[Dict[str, Any]]:
        for p in self._d["permissions"]:
            if p["permission_key"] == key:
                return dict(p)
        return None


class VerifiedEnvelope(Record):
    """A verified v2 envelope (``docs/api.md`` § Envelope verification result)."""

    __slots__ = ()
    _repr_fields = ("passport_id", "agent_id", "tier")


class InspectedPassport(Record):
    """A decoded, NOT verified passport: ``verified`` is always ``False``."""

    __slots__ = ()
    _repr_fields = ("form", "verified")


class Verifier:
    """Verifies passports of both wire forms against a trust store, a policy and revocation.

    ``Verifier(trust_store=None, *, revocation=None, allow_self_issued=False, min_tier=None,
    allowed_issuers=None, gate_id=None, leeway_ms=None, accept_eddsa=None,
    revocation_freshness=None, ...)``. Thread-safe; ``verify`` releases the GIL.
    """

    __slots__ = ("_v",)

    def __init__(self, trust_store: Any = None, *, revocation: Any = None, **config: Any) -> None:
        self._v = _native.Verifier(trust_store, revocation=revocation, **config)

    def verify(self, passport: Any, now: Any = None) -> Passport:
        """Verifies; returns a :class:`Passport` or raises ``PassportError``/``TrustError``."""
        return Passport(self._v.verify(passport, now))

    def describe(self) -> Dict[str, Any]:
        return self._v.describe()

    def __repr__(self) -> str:
        return repr(self._v)


def verify_envelope(envelope: Any, signature: Any = None, *, now: Any = None,
                    leeway_ms: Optional[int] = None, trust_store: Any = None,
                    **_kw: Any) -> VerifiedEnvelope:
    """Verifies a v2 envelope: a wire pair when ``signature`` is not passed, else the envelope
    (JSON text parsed exactly as given, or a dict) and its detached signature."""
    detached = bool(_kw.pop("_detached", False))
    if _kw:
        raise TypeError(f"unexpected arguments: {sorted(_kw)}")
    return VerifiedEnvelope(_native.verify_envelope(envelope, signature, detached=detached or signature is not None,
                                                    now=now, leeway_ms=leeway_ms, trust_store=trust_store))


def verify_detached(envelope: Any, signature: Optional[str], *, now: Any = None,
                    leeway_ms: Optional[int] = None, trust_store: Any = None) -> VerifiedEnvelope:
    """Verifies an envelope and its detached signature (``None``: absent)."""
    return verify_envelope(envelope, signature, now=now, leeway_ms=leeway_ms,
                           trust_store=trust_store, _detached=True)


def inspect_passport(passport: Any) -> InspectedPassport:
    """Decodes a passport of either form WITHOUT verifying it (for display and debugging)."""
    return InspectedPassport(_native.inspect_passport(passport))


def self_issue_passport(key: SigningKey, *, form: str = "jwt", **params: Any) -> str:
    """Self-issues a passport signed by the agent's own key. Returns the JWT (``form="jwt"``)
    or the envelope wire pair as compact JSON text (``form="envelope"``).

    params: ``permissions`` (list of keys or ``{"permission_key", "constraints"}``),
    ``expires_at`` or ``ttl_seconds``, ``issued_at``, ``passport_id``, ``agent_name``,
    ``delegation_authority``; JWT only: ``not_before``, ``audience``, ``catalog``.
    """
    if form == "jwt":
        return _native.jwt_self_issue(key, **params)
    if form == "envelope":
        return _json.dumps(_native.envelope_self_issue(key, **params), separators=(",", ":"))
    raise InvalidInputError_(f"form: expected 'jwt' or 'envelope', not {form!r}")


def issue_passport(key: SigningKey, issuer_id: str, kid: str, *, agent_key: Any, **params: Any) -> str:
    """Issues a passport JWT as trust store issuer ``issuer_id`` with key ``kid``."""
    return _native.jwt_issue(key, issuer_id, kid, agent_key=agent_key, **params)


def delegate_passport(parent: Any, parent_key: SigningKey, child_key: Any, *,
                      trust_store: Any = None, **params: Any) -> str:
    """Delegates from ``parent`` (either form; the result has the same form) to ``child_key``."""
    if isinstance(parent, bytes):
        parent = parent.decode()
    if isinstance(parent, dict) or parent.lstrip().startswith("{"):
        out = _native.envelope_delegate(parent, parent_key, child_key, trust_store=trust_store, **params)
        return _json.dumps(out, separators=(",", ":"))
    return _native.jwt_delegate(parent, parent_key, agent_key=child_key, **params)


class Decision(Record):
    """A gate decision: ``decision`` is ``"allow"``, ``"request_hold"`` or ``"block"``.

    A block is a result, not an exception. Attributes: ``decision``, ``reason``, ``detail``,
    ``evaluations``, ``effective_constraints``, ``hold_id``, ``hold_expires_at``,
    ``passport_id``, ``agent_id``, ``permission``, ``target``, ``request_digest``,
    ``decided_at``, ``dry_run``, ``cached``, ``warnings``, ``upgrade``, ``attestation``,
    ``checkpoint``, ``recorded_as``. Members the gate omits read as ``None``.
    """

    __slots__ = ()
    _repr_fields = ("decision", "reason", "passport_id", "permission")
    _optional = ("hold_id", "hold_expires_at", "upgrade", "attestation", "checkpoint")

    def __getattr__(self, name: str) -> Any:
        if name in Decision._optional:
            return self._d.get(name)
        return Record.__getattr__(self, name)

    @property
    def allowed(self) -> bool:
        return bool(self._d["decision"] == "allow")

    def __bool__(self) -> bool:
        return self.allowed


class Hold(Record):
    """A request waiting for a person (``docs/api.md`` § Hold object)."""

    __slots__ = ()
    _repr_fields = ("hold_id", "action", "reason", "expires_at")


class LogReport(Record):
    """The result of verifying an attestation log: ``ok``, ``records``, ``passports``,
    ``first_error`` (``{"index", "code", "detail"}`` or ``None``)."""

    __slots__ = ()
    _repr_fields = ("ok", "records", "passports", "first_error")

    def __bool__(self) -> bool:
        return bool(self._d["ok"])


class Gate:
    """A gate: hand it a passport and a request, get a :class:`Decision`.

    ``Gate(config, *, revocation=None, notifier=None, pii_detector=None, log_path=None)``.
    ``config`` is the gate config (dict or JSON text; ``trust_store`` may be a
    :class:`TrustStore`). Hooks: ``revocation`` (a :class:`RevocationList`, its JSON, or an
    object with ``passport_revoked(id)``, ``agent_revoked(id)``, ``issuer_key_revoked(iss, kid)``,
    ``last_refreshed()``), ``notifier`` (``on_hold(hold)``, optional ``on_resolved(hold,
    outcome)``), ``pii_detector`` (``detect(text) -> str | None``). Thread-safe; ``check``
    releases the GIL.
    """

    __slots__ = ("_g",)

    def __init__(self, config: Any, *, revocation: Any = None, notifier: Any = None,
                 pii_detector: Any = None, log_path: Any = None) -> None:
        self._g = _native.Gate(config, revocation=revocation, notifier=notifier,
                               pii_detector=pii_detector, log_path=log_path)

    @property
    def gate_id(self) -> str:
        return self._g.gate_id

    def check(self, request: Any = None, *, now: Any = None, **fields: Any) -> Decision:
        """Checks a request (dict / JSON text, or keyword fields: ``action``, ``passport``,
        ``target``, ``cost_cents``, ``metadata``, ``nonce``, ``timestamp``, ``pop``,
        ``client_id``, ``approval``)."""
        return Decision(self._g.check(request, now=now, **fields))

    def dry_run(self, request: Any = None, *, now: Any = None, **fields: Any) -> Decision:
        """The whole pipeline, changing nothing (no counter, nonce, hold or record)."""
        return Decision(self._g.dry_run(request, now=now, **fields))

    def deny_hold(self, approval: Any, *, now: Any = None) -> Decision:
        return Decision(self._g.deny_hold(approval, now=now))

    def pending_holds(self) -> List[Hold]:
        return [Hold(h) for h in self._g.pending_holds()]

    def expire_holds(self, now: Any = None) -> List[Hold]:
        return [Hold(h) for h in self._g.expire_holds(now)]

    def heartbeat(self, at: Any = None) -> None:
        self._g.heartbeat(at)

    @property
    def attestation_key(self) -> Optional[Dict[str, str]]:
        """``{"gate_id", "key_id", "public_key"}``: what an auditor passes as ``gate_keys``."""
        return self._g.attestation_key

    def export_log(self) -> Optional[bytes]:
        """The in-memory attestation log as JSON Lines (``None`` with ``log_path``)."""
        return self._g.export_log()

    @property
    def log_len(self) -> int:
        return self._g.log_len

    def __repr__(self) -> str:
        return repr(self._g)

    def __reduce__(self) -> Any:
        raise TypeError("Gate is not picklable (it holds live state); build one per process from its config")


def verify_log(source: Any, gate_keys: Any, *, checkpoints: Any = None) -> LogReport:
    """Verifies an attestation log, streaming (bounded memory; the GIL is released).

    ``source``: a path (``str`` / ``os.PathLike``), the log as ``bytes``, a binary file object,
    or an iterable of chunks. ``gate_keys``: ``[{"gate_id", "key_id", "public_key"}]`` (e.g.
    ``[gate.attestation_key]``). A broken log is a report with ``ok=False``, not an exception.
    """
    return LogReport(_native.verify_log(source, gate_keys, checkpoints=checkpoints))


def verify_attestation(record: Any, gate_keys: Any) -> Dict[str, Any]:
    """Verifies one record's signature against the trusted gate keys; returns the record."""
    return _native.verify_attestation(record, gate_keys)


def verify_checkpoint(checkpoint: Any, gate_keys: Any) -> Dict[str, Any]:
    """Verifies a checkpoint's signature; returns the checkpoint."""
    return _native.verify_checkpoint(checkpoint, gate_keys)


def InvalidInputError_(detail: str) -> Exception:
    try:
        _raise_for_test("invalid_argument", detail)
    except ModeiError as e:
        return e
    return ModeiError(detail)  # pragma: no cover
