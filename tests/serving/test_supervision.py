"""The stack's supervision of one process: restart after a growing pause, give up on a crash
loop, say why each exit happened."""

from __future__ import annotations

import signal
import sys
import time

import pytest

from serving.stack import CrashLoop, StackSettings, Supervised, exit_cause


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
    for _ in range(3):
        run_until_exit(child)
        time.sleep(0.1)
        child.check(time.monotonic())
        child.check(child.restart_at)
    assert child.restarts == 3
    child.stop()
