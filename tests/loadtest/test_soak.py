"""A shortened soak (20 s instead of 10 minutes) on the quick models: the crash and the model
update happen, only 503s (while the server is down) and no other failures, clean afterwards."""

from __future__ import annotations

import json

import pytest

from loadtest.processes import REPO
from loadtest.soak import main

pytestmark = pytest.mark.load


def test_a_short_soak_with_a_crash_and_an_update(models_dir, tmp_path, capsys):
    out = tmp_path / "soak.json"
    assert (
        main(
            [
                "--models-dir",
                str(models_dir),
                "--data-dir",
                str(REPO / "data"),
                "--seconds",
                "20",
                "--threads",
                "3",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    report = json.loads(out.read_text())
    assert set(report["events_s"]) == {"kill", "restart", "update"}
    assert set(report["outcomes"]) <= {"200", "503"}, report["outcomes"]
    assert report["phases"]["before"]["outcomes"] == {"200": report["phases"]["before"]["requests"]}
    if report["failures_between_s"]:  # 503s only while the server was down (+ 2 s reconnect)
        first, last = report["failures_between_s"]
        assert report["events_s"]["kill"] - 0.5 <= first
        assert last <= report["events_s"]["restart"] + 2
    assert report["requests"] > 100
    assert all(entry["growth"] < 100 for entry in report["memory_growth_mb"].values())
