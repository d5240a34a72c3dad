"""Synchronising tests on conditions, never on fixed pauses: poll a condition (a queue's length,
a log line, a port) until it holds, with a generous bound that only a broken run reaches."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
POLL_S = 0.01
"""How often the condition is looked at: the only pause here, and it decides nothing."""


def wait_until(condition: Callable[[], T], timeout: float = 60.0, what: str = "condition") -> T:
    """`condition()`'s first truthy value; AssertionError naming `what` after `timeout` s."""
    stop_at = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > stop_at:
            raise AssertionError(f"{what}: not reached within {timeout:g} s")
        time.sleep(POLL_S)
    return value
