"""Request coalescing in a gateway worker: concurrent predictions for the same model, signature,
pin, output filter and row shape become one model-server call, rows concatenated, and each
request gets its own rows of the answer.

Group commit, no timer: a request for a key with no call in flight is sent at once, alone, so a
lone request waits for nothing; requests that arrive while a call is in flight queue, and when
it returns they leave together as the next call (at most `max_rows` rows; the rest wait for the
one after). The queued request that heads the next call sends it from its own greenlet or
thread. A merged call's timeout is its earliest member's deadline; a member whose deadline
passes while it waits gets its 504 and leaves the queue. A merged call that the model server
refuses as a whole for its input (INVALID_ARGUMENT and the like) is sent again member by member,
so no request fails for another's input; any other failure (unreachable, deadline) is every
member's. Works under gevent (whose patching makes these locks and events cooperative) and
under threads alike.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from client.grpc_client import Prediction
from serving.gateway import errors

Send = Callable[[dict[str, np.ndarray], float], Prediction]
"""One model-server call for a key: (inputs, timeout in seconds) → its Prediction."""


@dataclass(eq=False)
class Member:
    """One request's rows, and what it gets back."""

    inputs: dict[str, np.ndarray]
    deadline: float
    """time.monotonic() by which it must be answered."""
    settled: threading.Event = field(default_factory=threading.Event)
    outcome: Prediction | errors.ApiError | object | None = None
    """Its answer, its error, or ALONE."""
    leads: list[Member] | None = None
    """Set when this member must send the next call for its key: that call's members."""

    @property
    def rows(self) -> int:
        return len(next(iter(self.inputs.values())))


ALONE = object()
"""A member's outcome when the merged call was refused for its input: send it by itself."""


def _split(prediction: Prediction, rows: list[int]) -> list[Prediction]:
    """Each member's rows of every output; InvalidInput when an output is not one row per
    input row, so that each member is answered by a call of its own."""
    total = sum(rows)
    if any(len(value) != total for value in prediction.outputs.values()):
        raise errors.InvalidInput("an output is not one row per input row")
    offsets = np.cumsum([0, *rows])
    return [
        Prediction(
            {alias: value[start:end] for alias, value in prediction.outputs.items()},
            prediction.model,
            prediction.version,
            prediction.signature,
        )
        for start, end in itertools.pairwise(offsets)
    ]


class Coalescer:
    """Merges concurrent calls per key (a tuple whose first item is the model's name);
    `send(key)` makes the function that calls the model server for that key."""

    def __init__(self, send: Callable[[tuple], Send], max_rows: int):
        self._send = send
        self._max_rows = max_rows
        self._lock = threading.Lock()
        self._waiting: dict[tuple, list[Member]] = {}
        """Per key with a call in flight, the members queued for the next one."""

    def predict(self, key: tuple, inputs: dict[str, np.ndarray], timeout: float) -> Prediction:
        member = Member(inputs, time.monotonic() + timeout)
        with self._lock:
            queue = self._waiting.get(key)
            if queue is None:
                self._waiting[key] = []
                member.leads = [member]
            else:
                queue.append(member)
        if member.leads is None:
            self._wait(key, member, timeout)
        if member.leads is not None:
            self._lead(key, member.leads)
        if member.outcome is ALONE:
            return self._send(key)(member.inputs, member.deadline - time.monotonic())
        if isinstance(member.outcome, errors.ApiError):
            raise member.outcome
        return member.outcome

    def queued(self, key: tuple) -> int:
        """How many requests wait for the next call for `key`."""
        with self._lock:
            return len(self._waiting.get(key, ()))

    def _wait(self, key: tuple, member: Member, timeout: float) -> None:
        """Until this member is answered or must lead; a 504 if its deadline passes queued."""
        if member.settled.wait(timeout):
            return
        with self._lock:
            queue = self._waiting.get(key, [])
            if member in queue:
                queue.remove(member)
                raise errors.BackendTimeout("model server: deadline exceeded (queued to merge)")
        member.settled.wait()  # taken into a call meanwhile, whose deadline is no later

    def _lead(self, key: tuple, members: list[Member]) -> None:
        """Send `members` as one call, answer each, then hand the next call to its head."""
        try:
            self._call(key, members)
        finally:
            following = self._next(key)
            if following:
                following[0].leads = following
                following[0].settled.set()

    def _call(self, key: tuple, members: list[Member]) -> None:
        """One call for `members`; each is answered (or told to go alone) before it wakes."""
        rows = [member.rows for member in members]
        timeout = min(member.deadline for member in members) - time.monotonic()
        try:
            merged = {
                alias: np.concatenate([member.inputs[alias] for member in members])
                for alias in members[0].inputs
            }
            prediction = self._send(key)(merged, timeout)
            outcomes = _split(prediction, rows) if len(members) > 1 else [prediction]
        except errors.InvalidInput as error:
            outcomes = [ALONE if len(members) > 1 else error] * len(members)
        except errors.ApiError as error:
            outcomes = [type(error)(error.message) for _ in members]
        except Exception as error:  # a member must never be left waiting
            outcomes = [errors.BackendError(f"model server: {error}") for _ in members]
        for member, outcome in zip(members, outcomes, strict=True):
            member.outcome = outcome
            member.settled.set()

    def _next(self, key: tuple) -> list[Member]:
        """The queued members that fit the next call (504 for those already past their
        deadline); none: the key has no call in flight any more."""
        now, taken, rows = time.monotonic(), [], 0
        with self._lock:
            queue = self._waiting[key]
            while queue and (not taken or rows + queue[0].rows <= self._max_rows):
                member = queue.pop(0)
                if member.deadline <= now:
                    member.outcome = errors.BackendTimeout(
                        "model server: deadline exceeded (queued to merge)"
                    )
                    member.settled.set()
                    continue
                taken.append(member)
                rows += member.rows
            if not taken:
                del self._waiting[key]
        return taken
