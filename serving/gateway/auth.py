"""Optional API keys. GATEWAY_API_KEYS holds SHA-256 digests of the keys (never the keys), each
optionally limited to some routes:

    GATEWAY_API_KEYS="<sha256 hex>,<sha256 hex>:sum|digits"

Scopes: each task's route (sum, digits, forecast, ...), predict (POST to the TF Serving REST
API), models (GET /v1/models and TF Serving's status and metadata), ops (the operations routes
an operator has closed, GATEWAY_PUBLIC_ROUTES, and /readyz's per-replica detail); no scope
means all of them.
Callers send `Authorization: Bearer <key>` or `X-API-Key: <key>`.
Digests are compared in constant time; keys are never logged. `python -m serving.gateway.auth`
prints a new key and its entry.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from serving.gateway.errors import Forbidden, Unauthenticated
from serving.gateway.tasks import all_tasks

PASSTHROUGH_SCOPES = ("predict", "models")
OPS_SCOPE = "ops"
DIGEST = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ApiKey:
    digest: bytes
    scopes: frozenset[str]


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def all_scopes() -> tuple[str, ...]:
    """Every task's route, then the passthrough's scopes, then ops."""
    return (*(task.route for task in all_tasks()), *PASSTHROUGH_SCOPES, OPS_SCOPE)


def parse_keys(raw: str) -> tuple[ApiKey, ...]:
    """Entries of GATEWAY_API_KEYS; a ValueError names the first bad one."""
    keys = []
    for index, entry in enumerate(part.strip() for part in raw.split(",") if part.strip()):
        digest, _, scopes = entry.partition(":")
        if not DIGEST.match(digest):
            raise ValueError(f"GATEWAY_API_KEYS entry {index}: expected a SHA-256 hex digest")
        known = all_scopes()
        chosen = frozenset(scope for scope in scopes.split("|") if scope) or frozenset(known)
        if unknown := chosen - set(known):
            raise ValueError(
                f"GATEWAY_API_KEYS entry {index}: unknown scope {sorted(unknown)[0]!r}; "
                f"expected {', '.join(known)}"
            )
        keys.append(ApiKey(bytes.fromhex(digest), chosen))
    return tuple(keys)


def presented_key(headers) -> str | None:
    authorization = headers.get("Authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return headers.get("X-API-Key")


def allows(keys: tuple[ApiKey, ...], headers, scope: str) -> bool:
    """Whether the request carries a known key allowed on `scope` (never raises)."""
    try:
        authorize(keys, headers, scope)
    except (Unauthenticated, Forbidden):
        return False
    return True


def authorize(keys: tuple[ApiKey, ...], headers, scope: str) -> None:
    """Raise Unauthenticated (no or unknown key) or Forbidden (key not allowed on `scope`)."""
    key = presented_key(headers)
    if not key:
        raise Unauthenticated(
            "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
        )
    presented = hashlib.sha256(key.encode()).digest()
    match = None
    for candidate in keys:
        if hmac.compare_digest(candidate.digest, presented):
            match = candidate
    if match is None:
        raise Unauthenticated("unknown API key")
    if scope not in match.scopes:
        raise Forbidden(f"this API key may not call the {scope!r} routes")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m serving.gateway.auth", description=__doc__)
    parser.add_argument(
        "--scopes", default="", help=f"|-separated subset of {', '.join(all_scopes())}"
    )
    args = parser.parse_args(argv)
    key = secrets.token_urlsafe(32)
    entry = digest_of(key) + (f":{args.scopes}" if args.scopes else "")
    parse_keys(entry)
    print(f"key (give to the caller):     {key}")
    print(f"entry (for GATEWAY_API_KEYS): {entry}")


if __name__ == "__main__":
    main()
