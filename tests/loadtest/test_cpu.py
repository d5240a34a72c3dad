"""loadtest/cpu.py against processes whose CPU use the test controls: a busy child burns what
it is told, an idle one nothing, and the meter attributes each to its group."""

from __future__ import annotations

import subprocess
import sys

from loadtest.cpu import CpuMeter, cpu_seconds, family, per_request_ms, session, tree
from tests.support.waiting import wait_until

BURN = """
import time
end = time.process_time() + float(input())
while time.process_time() < end:
    pass
print("done", flush=True)
input()
"""


READ_ALL = "import sys; sys.stdin.read()"


def test_the_meter_gives_each_group_its_own_processes_cpu():
    busy = subprocess.Popen(
        [sys.executable, "-c", BURN], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    idle = subprocess.Popen(
        [sys.executable, "-c", "input()"], stdin=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        meter = CpuMeter({"busy": lambda: tree(busy.pid), "idle": lambda: session(idle.pid)})
        meter.start()
        busy.stdin.write("0.5\n")
        busy.stdin.flush()
        assert busy.stdout.readline() == "done\n"
        spent = meter.stop()
        assert 0.45 <= spent["busy"] <= 1.0, spent
        assert spent["idle"] < 0.05, spent
        assert session(idle.pid) == [idle.pid]  # a session of its own
        costs = per_request_ms(spent, 100)
        assert costs["busy"] == round(spent["busy"] * 10, 3)
        assert costs["total"] == round((spent["busy"] + spent["idle"]) * 10, 3)
    finally:
        for process in (busy, idle):
            process.kill()
            process.wait()


def test_a_tree_holds_its_children_and_a_gone_process_costs_nothing():
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, sys; subprocess.run([sys.executable, '-c', {READ_ALL!r}])",
        ],
        stdin=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        pids = wait_until(lambda: len(tree(parent.pid)) == 2 and tree(parent.pid), what="the child")
        assert pids[0] == parent.pid
        assert family(parent.pid) == sorted(pids)
    finally:
        parent.kill()
        parent.wait()
        parent.stdin.close()  # the child reads it: end of input ends the child too
    assert cpu_seconds(parent.pid) == 0.0
    assert per_request_ms({"a": 1.0}, 0) == {"a": None, "total": None}
