"""schemathesis, a tool others wrote, drives the real gateway (gunicorn, in front of the real
model server with the quick models) from the gateway's own /openapi.json: every phase
(examples, coverage, fuzzing, stateful), every check — no 5xx, status codes, content types,
headers and bodies as documented, schema-valid requests accepted and invalid ones refused,
Allow headers, unsupported methods — with the seed and example count in
schemathesis/schemathesis.toml. It must find nothing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent / "schemathesis"


def test_schemathesis_finds_no_failure_over_the_whole_api(gateway, tmp_path):
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--no-color",
        f"--config-file={HERE / 'schemathesis.toml'}",
        "run",
        gateway.rest_url + "/openapi.json",
        "--checks=all",
        f"--report-junit-path={tmp_path / 'junit.xml'}",
        "--report=junit",
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HERE / "hooks.py")}
    run = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    summary = run.stdout[run.stdout.rindex("SUMMARY") :]
    selected, total = map(int, re.search(r"Selected: (\d+)/(\d+)", summary).groups())
    assert selected == total == int(re.search(r"Tested: (\d+)", summary)[1]) >= 12, summary
    generated, passed = map(int, re.search(r"(\d+) generated, (\d+) passed", summary).groups())
    assert generated == passed >= 500, summary
