import subprocess
import time

from loadtest.profile import first_child, top_functions

FOLDED = """\
_bootstrap (threading.py:1002);run (a.py:1);Condition.wait (threading.py:331) 70
_bootstrap (threading.py:1002);run (a.py:1);__call__ (session.py:1510) 20
_bootstrap (threading.py:1002);run (a.py:1);_typed_values (tensors.py:121) 10
_bootstrap (threading.py:1002);loop (b.py:2);_PollLikeSelector.select (selectors.py:415) 30
"""


def test_shares_count_busy_samples_only_by_own_and_total_time():
    table = top_functions(FOLDED).splitlines()
    assert table[2] == "| 66.7 | 66.7 | `__call__ (session.py:1510)` |"
    assert table[3] == "| 33.3 | 33.3 | `_typed_values (tensors.py:121)` |"
    assert len(table) == 4, "idle waits are left out"


def test_the_first_worker_of_a_master_is_found(tmp_path):
    pid_file = tmp_path / "child.pid"
    master = subprocess.Popen(["sh", "-c", f"sleep 30 & echo $! > {pid_file}; wait"])
    try:
        deadline = time.monotonic() + 5
        while not pid_file.exists() or not pid_file.read_text().strip():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert first_child(master.pid) == int(pid_file.read_text())
    finally:
        subprocess.run(["pkill", "-P", str(master.pid)], check=False)
        master.kill()
        master.wait()
