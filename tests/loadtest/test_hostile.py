"""`make soak-hostile`, short: hostile and valid clients together on `make run`'s own processes
(the shipped models), then 5,000 half-open connections on each of the three ports. Nothing
lost, every answer documented, memory level, ordinary requests answered within 1 s."""

from __future__ import annotations

import json

import pytest

from loadtest.hostile import HALF_OPEN, main
from serving.processes import REPO

pytestmark = pytest.mark.load


def test_hostile_clients_lose_nothing_get_documented_answers_and_leave_memory_level(tmp_path):
    out = tmp_path / "hostile.json"
    argv = ["--data-dir", str(REPO / "data"), "--models-dir", str(REPO / "models")]
    code = main([*argv, "--seconds", "40", "--threads", "32", "--out", str(out)])
    report = json.loads(out.read_text())
    assert code == 0 and report["passed"], report
    answers = report["answers"]
    # every kind of request was sent and answered as documented
    for answer in ("sum 200", "upload 200", "big_image 200", "oversized 413", "bad_chunked 400"):
        assert answers.get(answer, 0) > 0, answers
    assert answers.get("length 400", 0) > 0 and answers.get("grpc_length INVALID_ARGUMENT", 0) > 0
    assert all(flood["held"] == HALF_OPEN for flood in report["half_open"].values()), report
    assert report["stack_stop"] == {"exit_code": 0, "gateway_answers_after": False}, report
