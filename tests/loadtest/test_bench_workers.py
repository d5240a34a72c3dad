"""The worker-model comparison: each server it names runs the real gateway app."""

from __future__ import annotations

import json

import pytest

from loadtest.bench_workers import Server, markdown, start
from loadtest.payloads import digit_payloads
from serving.processes import REPO, http
from training.data.mnist import load_mnist


def test_server_specs_name_the_server_and_its_threads():
    assert Server.parse("granian:16") == Server("granian", 16)
    assert Server.parse("gunicorn-gevent").label == "gunicorn-gevent"
    assert Server.parse("gunicorn-gthread:8").label == "gunicorn-gthread ×8"
    with pytest.raises(ValueError, match="unknown server"):
        Server.parse("uwsgi")


def test_the_table_has_a_row_a_server():
    point = {
        "requests_per_second": 1000.0,
        "p50_ms": 40.0,
        "p99_ms": 80.0,
        "failures": 0,
        "cpu_ms_per_request": {"gateway": 0.9, "model_server": 0.3, "total": 1.2},
    }
    table = markdown({"servers": {"granian ×32": point}}).splitlines()
    assert table[2] == "| granian ×32 | 0.9 | 0.3 | 1000.0 | 40.0 | 80.0 | 0 |"


@pytest.mark.parametrize("spec", ["granian:4", "gunicorn-gthread:4"])
def test_each_server_answers_a_digit_through_the_gateway_app(spec, model_server, tmp_path):
    image = load_mnist(REPO / "data").test[0][0]
    _, body = digit_payloads(image)
    gateway = start(Server.parse(spec), model_server, tmp_path)
    try:
        status, answer = http(
            "POST",
            f"{gateway.rest_url}/v1/digits",
            body,
            headers={"Content-Type": "application/json"},
        )
    finally:
        gateway.stop()
    assert status == 200, json.dumps(answer)
    assert len(answer["predictions"][0]["probabilities"]) == 10
