"""README's client example, run as written against the real model server (only the address
changes), from a folder holding a drawn digit.png."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
from PIL import Image

from loadtest.processes import REPO


def readme_example() -> str:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## gRPC clients") :]
    return re.search(r"```python\n(.*?)```", section, re.S)[1]


def test_the_readme_client_example_runs(model_server, tmp_path):
    drawn = np.full((200, 160), 255, np.uint8)
    drawn[30:170, 70:95] = 0  # a dark stroke on white: a one
    Image.fromarray(drawn).save(tmp_path / "digit.png")
    code = readme_example().replace("localhost:8500", model_server.grpc_address)
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "sequences[0][1]: expected 0 or 1, got 2 400"
    assert lines[2] == "(1, 5)"
