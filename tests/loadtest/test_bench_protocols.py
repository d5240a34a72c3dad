"""The protocol comparison: medians of alternating rounds, and a real round on the model server."""

from __future__ import annotations

import shutil

import pytest

from loadtest.bench_protocols import PROTOCOLS, markdown, measure, summary
from serving.processes import REPO
from training.data.mnist import load_mnist


def point(cpu: float, rate: float = 1000.0, failures: int = 0) -> dict:
    return {
        "cpu_ms_per_request": cpu,
        "requests_per_second": rate,
        "p99_ms": 50.0,
        "rows_per_model_run": 10.0,
        "failures": failures,
    }


def test_each_protocol_is_judged_by_the_median_of_its_rounds():
    points = {
        "tf_serving": [point(0.8), point(0.9), point(2.0)],
        "v2": [point(0.85), point(0.7, failures=1), point(0.86)],
    }
    medians = summary(points)
    assert medians["tf_serving"]["cpu_ms_per_request"] == 0.9
    assert medians["v2"]["cpu_ms_per_request"] == 0.85
    assert medians["v2"]["failures"] == 1
    assert markdown(medians, 3, 64).endswith("0.85 vs 0.9 ms, met")
    points["v2"] = [point(0.95)] * 3
    assert markdown(summary(points), 3, 64).endswith("0.95 vs 0.9 ms, not met")


@pytest.mark.skipif(shutil.which("h2load") is None, reason="h2load not installed")
def test_a_round_answers_both_protocols_without_failures(model_server):
    image = load_mnist(REPO / "data").test[0][0]
    points = measure(model_server, image, rounds=1, clients=2, seconds=1)
    assert list(points) == list(PROTOCOLS)
    for rounds in points.values():
        assert rounds[0]["requests"] > 0 and rounds[0]["failures"] == 0
        assert rounds[0]["cpu_ms_per_request"] > 0
