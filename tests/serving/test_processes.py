"""Stopping a server started in its own session also ends the processes it started."""

import subprocess

from serving.processes import ServerProcess, child_pids
from tests.support.waiting import wait_until


def test_stop_ends_the_children_of_a_server_in_its_own_session(tmp_path):
    pid_file = tmp_path / "child.pid"
    parent = subprocess.Popen(
        ["sh", "-c", f"sleep 60 & echo $! > {pid_file}; wait"], start_new_session=True
    )
    server = ServerProcess(parent, "", "", tmp_path / "log", own_group=True)
    wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), what="child pid")
    child = int(pid_file.read_text())
    server.stop(timeout=5)
    wait_until(lambda: not _running(child), what="the child ends after stop()")


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
        wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), what="child pid")
        assert child_pids(master.pid)[0] == int(pid_file.read_text())
    finally:
        subprocess.run(["pkill", "-P", str(master.pid)], check=False)
        master.kill()
        master.wait()
