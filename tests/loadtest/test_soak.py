"""The chaos test of the real run mode, short: `MODEL_SERVER_REPLICAS=2 make run`'s own
processes (`python -m serving.stack`) on the quick models, under 16 client threads, lose one
model server replica (SIGKILL: nothing may fail), then both (503 until one is back), then a
gateway worker (SIGKILL), get a model update, and have a replica frozen (SIGSTOP: it neither
answers nor exits); the stack heals by itself, both replicas
serve again, every process's log is JSON lines, and SIGTERM stops it all."""

from __future__ import annotations

import json

import pytest

from loadtest.soak import main
from serving.processes import REPO

pytestmark = pytest.mark.load


def test_the_stack_heals_killed_model_servers_and_a_worker_under_load(models_dir, tmp_path):
    out = tmp_path / "soak.json"
    argv = ["--models-dir", str(models_dir), "--data-dir", str(REPO / "data")]
    run = ["--seconds", "60", "--threads", "16", "--replicas", "2", "--out", str(out)]
    run += ["--hang-timeout", "3"]
    assert main([*argv, *run]) == 0
    report = json.loads(out.read_text())
    events, recovery = report["events_s"], report["recovery_s"]
    replica_events = {"replica_kill", "replica_restarted", "replica_ready"}
    freeze_events = {"freeze", "freeze_replaced", "freeze_ready"}
    assert set(events) == {"kill", "restarted", "ready", "worker_kill", "update"} | (
        replica_events | freeze_events
    )
    # one replica lost: the other served every request, gRPC retrying the calls in flight
    assert report["failures_before_kill"] == 0, report
    # both replicas serve again after their restarts (their request counts since then)
    assert all(count > 0 for count in report["requests_served_by_replica"]), report
    # every answer within the gateway's deadline (5 s); /readyz said 503 while none was up
    assert report["slowest_answer_ms"] < 5000 + 1000, report  # the deadline, and scheduling
    assert report["readyz_while_away"] == 503, report
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
    # replica 0 frozen (SIGSTOP): answers are 200 (the other replica), 503 or 504, each within
    # the deadline; the stack's probe replaces it and it serves again within a minute
    frozen = report["while_frozen"]
    assert frozen["requests"] > 0 and set(frozen["outcomes"]) <= {"200", "503", "504"}, frozen
    assert frozen["slowest_answer_ms"] < 5000 + 1000, frozen
    assert frozen["serving_after_s"] < 60, frozen
    assert any("hung: no answer to its probe" in line for line in log["hung"]), log
