"""The soak's memory reading survives the processes it kills: a zombie (killed, not yet
reaped) has no VmRSS line, and a process that is gone has no /proc entry."""

import math
import os
import signal
import subprocess
import sys

from loadtest.soak import rss_mb


def test_rss_of_a_live_process_a_zombie_and_a_gone_one():
    child = subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()"])
    assert rss_mb(child.pid) > 0
    child.send_signal(signal.SIGKILL)
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, left unreaped: a zombie
    assert math.isnan(rss_mb(child.pid))
    child.wait()
    assert math.isnan(rss_mb(child.pid))
