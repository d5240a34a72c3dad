"""A short headless Locust run against the real gateway and model server (seconds), and the
service-level objectives gating its exit code."""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest

from serving.processes import REPO

pytestmark = pytest.mark.load


def locust(gateway, model_server, out, *extra: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        "loadtest/locustfile.py",
        "--headless",
        "-u",
        "4",
        "-r",
        "4",
        "-t",
        "5s",
        "--host",
        gateway.rest_url,
        "--grpc-target",
        model_server.grpc_address,
        "--data-dir",
        str(REPO / "data"),
        "--csv",
        str(out / "locust"),
        "--html",
        str(out / "locust.html"),
        "--only-summary",
        # quick test models: looser answers than the trained ones (docs/benchmarks.md)
        "--sum-tolerance",
        "1.0",
        "--forecast-mse",
        "2.0",
        *extra,
    ]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)


def test_a_short_load_run_meets_its_slos(gateway, model_server, tmp_path):
    result = locust(gateway, model_server, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    with (tmp_path / "locust_stats.csv").open() as stats:
        rows = {row["Name"]: row for row in csv.DictReader(stats)}
    for name in (
        "/v1/sum",
        "/v1/digits",
        "/v1/forecast",
        "/v2/models/digit_classifier/infer",
        "Predict sum_regressor",
        "Predict digit_classifier",
        "Predict forecaster",
    ):
        assert int(rows[name]["Request Count"]) > 0, name
    assert rows["Aggregated"]["Failure Count"] == "0"
    assert "SLO met" in result.stdout + result.stderr
    assert (tmp_path / "locust.html").stat().st_size > 1000


def test_a_broken_slo_fails_the_run(gateway, model_server, tmp_path):
    result = locust(gateway, model_server, tmp_path, "--p95-ms", "0.001")
    assert result.returncode == 1
    assert "SLO FAILED: p95" in result.stdout + result.stderr
