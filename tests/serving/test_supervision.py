"""The stack's supervision of one process: restart after a growing pause, give up on a crash
loop, say why each exit happened."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time

import pytest

from serving.stack import CrashLoop, StackSettings, Supervised, exit_cause
from tests.support.waiting import wait_until


def crashing(settings: StackSettings) -> Supervised:
    return Supervised("crasher", [sys.executable, "-c", "raise SystemExit(3)"], {}, settings)


def run_until_exit(child: Supervised) -> None:
    child.process.wait(30)


def test_exit_causes_name_the_code_or_the_signal():
    assert exit_cause(3) == "exit code 3"
    assert exit_cause(-signal.SIGKILL) == "killed by SIGKILL"


def test_a_crashed_process_is_started_again_after_a_doubling_pause(caplog):
    settings = StackSettings(restart_backoff_s=0.05, crash_loop_limit=10)
    child = crashing(settings)
    child.start()
    pauses = []
    for _ in range(3):
        run_until_exit(child)
        noticed = time.monotonic()
        child.check(noticed)
        pauses.append(round(child.restart_at - noticed, 2))
        child.check(child.restart_at)
    assert pauses == [0.05, 0.1, 0.2]
    assert child.restarts == 3
    assert "crasher (pid" in caplog.text and "stopped: exit code 3" in caplog.text
    child.stop()


def test_a_crash_loop_gives_up_with_the_last_cause():
    settings = StackSettings(restart_backoff_s=0.01, crash_loop_limit=3, crash_loop_window_s=60)
    child = crashing(settings)
    child.start()
    with pytest.raises(
        CrashLoop, match=r"crasher exited 3 times within 60 s \(last: exit code 3\)"
    ):
        for _ in range(3):
            run_until_exit(child)
            child.check(time.monotonic())
            child.check(child.restart_at)


def test_crashes_outside_the_window_are_forgotten():
    settings = StackSettings(restart_backoff_s=0.01, crash_loop_limit=2, crash_loop_window_s=0.05)
    child = crashing(settings)
    child.start()
    now = time.monotonic()
    for _ in range(3):
        run_until_exit(child)
        now += 1  # each exit noticed a second after the last: outside the 0.05 s window
        child.check(now)
        child.check(child.restart_at)
    assert child.restarts == 3
    child.stop()


class Switch:
    """A probe the test answers for: alive until switched off."""

    def __init__(self):
        self.on = True
        self.asked = threading.Event()

    def __call__(self, timeout: float) -> bool:
        self.asked.set()
        return self.on


def test_a_process_that_stops_answering_its_probe_is_killed_and_restarted(caplog):
    caplog.set_level(logging.INFO, logger="serving.stack")
    settings = StackSettings(restart_backoff_s=0.01, probe_interval_s=0.01, hang_timeout_s=5)
    probe = Switch()
    child = Supervised(
        "sleeper",
        [sys.executable, "-c", "import signal; signal.pause()"],
        {},
        settings,
        probe=probe,
    )
    child.start()
    first = child.process
    answered = wait_until(lambda: child.answered_at, what="first answer to the probe")
    assert f"sleeper (pid {first.pid}) answers its probe" in caplog.text
    child.check(answered + 4)  # not yet hung
    assert first.poll() is None
    probe.on = False
    child.check(answered + 6)
    assert first.returncode == -signal.SIGKILL
    assert "sleeper (pid" in caplog.text and "hung: no answer to its probe" in caplog.text
    assert "killed by SIGKILL; restarting" in caplog.text
    child.check(child.restart_at)
    assert child.process is not first and child.restarts == 1
    assert child.answered_at is None  # the new process has to answer before it can hang
    child.stop()


def test_a_process_that_never_answered_gets_the_ready_timeout_before_it_counts_as_hung(caplog):
    """A model server still loading its models answers no probe yet: not a hang, until
    STACK_READY_TIMEOUT_S has passed since it started."""
    settings = StackSettings(probe_interval_s=0.01, hang_timeout_s=0.01, ready_timeout_s=600)
    probe = Switch()
    probe.on = False
    child = Supervised(
        "loader", [sys.executable, "-c", "import signal; signal.pause()"], {}, settings, probe=probe
    )
    child.start()
    assert probe.asked.wait(30)
    loading = child.process
    child.check(child.started_at + 599)
    assert loading.poll() is None
    child.check(child.started_at + 601)
    assert loading.returncode == -signal.SIGKILL
    assert "hung: no answer to its probe in the 601 s since it started" in caplog.text
    child.stop()
