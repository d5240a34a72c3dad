"""Stopping a server started in its own session also ends the processes it started."""

import subprocess
import time

from loadtest.processes import ServerProcess, child_pids


def test_stop_ends_the_children_of_a_server_in_its_own_session(tmp_path):
    pid_file = tmp_path / "child.pid"
    parent = subprocess.Popen(
        ["sh", "-c", f"sleep 60 & echo $! > {pid_file}; wait"], start_new_session=True
    )
    server = ServerProcess(parent, "", "", tmp_path / "log", own_group=True)
    deadline = time.monotonic() + 5
    while not pid_file.exists() or not pid_file.read_text().strip():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    child = int(pid_file.read_text())
    server.stop(timeout=5)
    deadline = time.monotonic() + 5
    while _running(child):
        assert time.monotonic() < deadline, "the child outlived stop()"
        time.sleep(0.05)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_first_worker_of_a_master_is_found(tmp_path):
    pid_file = tmp_path / "child.pid"
    master = subprocess.Popen(["sh", "-c", f"sleep 30 & echo $! > {pid_file}; wait"])
    try:
        deadline = time.monotonic() + 5
        while not pid_file.exists() or not pid_file.read_text().strip():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert child_pids(master.pid)[0] == int(pid_file.read_text())
    finally:
        subprocess.run(["pkill", "-P", str(master.pid)], check=False)
        master.kill()
        master.wait()
