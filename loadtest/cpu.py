"""CPU time that processes spend over a measured run: utime + stime from /proc/<pid>/stat,
read before and after, per named group of process trees. Divided by the requests done, it is
what one request costs in each process — the figure that holds still on a noisy machine, where
requests per second move 10–40% between runs."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from serving.processes import child_pids

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` so far (0 once it is gone)."""
    try:
        fields = _stat_fields(pid)
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after "pid (comm) " (comm may hold spaces): state, ppid, pgrp, session,
    ..., utime at 11, stime at 12."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()


def tree(pid: int) -> list[int]:
    """`pid` and every process below it."""
    found = [pid]
    for child in child_pids(pid):
        found += tree(child)
    return found


def session(pid: int) -> list[int]:
    """Every process in `pid`'s session, those that left its tree included (Ray's daemons)."""
    try:
        wanted = _stat_fields(pid)[3]
    except OSError:
        return []
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if _stat_fields(int(entry.name))[3] == wanted:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def family(pid: int) -> list[int]:
    """Everything `pid` started, however it did: its tree, its session (processes that left the
    tree, as Ray's daemons do) and their trees (children that made sessions of their own, as
    BentoML's do)."""
    found = set(tree(pid))
    for member in session(pid):
        found.update(tree(member))
    return sorted(found)


class CpuMeter:
    """CPU seconds per group of processes between start() and stop(); `groups` maps a name to
    a function that lists its processes (one that starts meanwhile counts from zero)."""

    def __init__(self, groups: Mapping[str, Callable[[], list[int]]]):
        self.groups = groups
        self._before: dict[str, dict[int, float]] = {}

    def _read(self) -> dict[str, dict[int, float]]:
        return {
            name: {pid: cpu_seconds(pid) for pid in processes()}
            for name, processes in self.groups.items()
        }

    def start(self) -> None:
        self._before = self._read()

    def stop(self) -> dict[str, float]:
        after = self._read()
        return {
            name: sum(cpu - self._before[name].get(pid, 0.0) for pid, cpu in pids.items())
            for name, pids in after.items()
        }


def per_request_ms(spent: Mapping[str, float], requests: int) -> dict[str, float | None]:
    """Each group's CPU milliseconds per request, and their total."""
    if requests <= 0:
        return {name: None for name in (*spent, "total")}
    costs = {name: round(seconds * 1000 / requests, 3) for name, seconds in spent.items()}
    return {**costs, "total": round(sum(spent.values()) * 1000 / requests, 3)}
