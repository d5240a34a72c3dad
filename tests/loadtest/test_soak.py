"""The chaos test of the real run mode, short: `make run`'s own processes (`python -m
serving.stack`) on the quick models, under 16 client threads, lose the model server (SIGKILL)
and a gateway worker (SIGKILL) and get a model update; the stack heals by itself, writes every
process's log as JSON lines, and stops on SIGTERM."""

from __future__ import annotations

import json

import pytest

from loadtest.processes import REPO
from loadtest.soak import main

pytestmark = pytest.mark.load


def test_the_stack_heals_a_killed_model_server_and_worker_under_load(models_dir, tmp_path):
    out = tmp_path / "soak.json"
    argv = ["--models-dir", str(models_dir), "--data-dir", str(REPO / "data")]
    assert main([*argv, "--seconds", "30", "--threads", "16", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    events, recovery = report["events_s"], report["recovery_s"]
    assert set(events) == {"kill", "restarted", "ready", "worker_kill", "update"}, report
    assert {"restarted", "ready", "first_success"} <= set(recovery), report
    assert report["phases"]["before"]["outcomes"].get("200", 0) > 0, report["phases"]
    assert report["phases"]["after"]["outcomes"].get("200", 0) > 0, report["phases"]
    # 503s only while the model server was away: from requests in flight at the kill until its
    # models were ready again (plus reconnect)
    first, last = report["failures_between_s"]
    assert events["kill"] - 0.5 <= first and last <= events["ready"] + 2, report
    # besides 200 and 503: only the connections of the worker killed mid-request
    assert all(abs(at - events["worker_kill"]) < 2 for at in report["other_than_200_or_503_s"])
    assert len(report["other_than_200_or_503_s"]) <= 16
    assert report["stack_stop"] == {"exit_code": 0, "gateway_answers_after": False}, report
    assert any(line.endswith("/docs") for line in report["stack_banner"]), report
    log = report["log"]
    assert log["lines"] > 0 and log["not_json"] == [], log
    # the stack, the model server (its Python loggers), gunicorn (the gateway's master)
    assert {"serving.stack", "gunicorn.error"} <= set(log["loggers"]), log
    assert any(name.startswith("serving.modelserver") for name in log["loggers"]), log
    assert any("killed by SIGKILL" in message for message in log["restarts"]), log
    assert all(entry["growth"] < 100 for entry in report["memory_growth_mb"].values())
