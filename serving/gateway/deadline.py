"""One deadline per request, fixed when it arrives and spent by every stage: reading the body,
waiting for a slot, and the model server call with its retries, which gets exactly what is
left (gRPC carries it on to the model server, which turns it into the session's timeout, as
TF Serving's `model_servers/prediction_service_impl.cc` does).

The deadline is GATEWAY_DEADLINE_S, or less when the client asks for less with a
`grpc-timeout` header: gRPC's own deadline header, in the format of gRPC's
`doc/PROTOCOL-HTTP2.md` ("grpc-timeout" → TimeoutValue TimeoutUnit: at most 8 ASCII digits,
then H, M, S, m, u or n). A client cannot extend the gateway's deadline, only shorten it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from serving.gateway.errors import BackendTimeout, InvalidInput

HEADER = "grpc-timeout"
UNIT_SECONDS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}
_TIMEOUT = re.compile(r"([0-9]{1,8})([HMSmun])")


def parse_timeout(value: str) -> float:
    """Seconds in a `grpc-timeout` value; InvalidInput naming the header otherwise."""
    found = _TIMEOUT.fullmatch(value.strip())
    if found is None:
        raise InvalidInput(
            f"{HEADER}: expected at most 8 digits and a unit (H, M, S, m, u, n), e.g. 500m; "
            f"got {value[:40]!r}"
        )
    return int(found[1]) * UNIT_SECONDS[found[2]]


@dataclass(frozen=True)
class Deadline:
    expires_at: float
    """time.monotonic() when the request's time is up."""

    @classmethod
    def on_arrival(cls, arrived: float, limit_s: float, header: str | None = None) -> Deadline:
        """The deadline of a request that arrived at `arrived` (time.monotonic()): `limit_s`
        later, or sooner when the client's header asks for less."""
        seconds = limit_s if header is None else min(limit_s, parse_timeout(header))
        return cls(arrived + seconds)

    def remaining(self) -> float:
        """Seconds left; BackendTimeout (504) when none are."""
        left = self.expires_at - time.monotonic()
        if left <= 0:
            raise BackendTimeout("deadline exceeded before the model server answered")
        return left
