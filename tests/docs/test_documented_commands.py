"""Every command and snippet in README.md and docs/ runs as written, and the outputs printed
there are what it prints.

Each ```bash or ```python block is preceded by `<!-- doc-test: MODE -->`:
- `stack`: run against `python -m serving.stack` started with its defaults (the models that
  ship in models/, no API keys), as `make run` starts it;
- `standalone`: run by itself (it starts what it needs);
- `not run: <reason>`: what it needs is not here (a cluster, Docker, the real
  tensorflow_model_server), or it is the test suite itself.
A block marked `output` (```json or ```text) is what the block before it prints: compared
with what it did print, numbers within 1e-3. The ports in a block (8000, 8500, 8501) are
replaced by the test's own (and TFS_TARGET / TFS_REST_URL set to them), so that nothing here
collides with a `make run` on this machine.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from serving.processes import REPO, free_port

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BLOCK = re.compile(
    r"(?:<!-- doc-test: (?P<mode>[^>]*?) -->\n)?^```(?P<lang>[a-z]*)\n(?P<body>.*?)^```$",
    re.S | re.M,
)
RUNNABLE = {"bash", "python"}
PORTS = ("8000", "8500", "8501")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
TIMEOUT_S = 600


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    lang: str
    mode: str
    body: str
    output: str | None

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


def blocks() -> list[Block]:
    found = []
    for page in PAGES:
        text = page.read_text()
        matches = list(BLOCK.finditer(text))
        for index, match in enumerate(matches):
            mode = (match["mode"] or "").strip()
            if match["lang"] not in RUNNABLE:
                continue
            following = matches[index + 1] if index + 1 < len(matches) else None
            output = None
            if following is not None and (following["mode"] or "").strip() == "output":
                between = text[match.end() : following.start()]
                if not between.strip() or between.strip().startswith("<!--"):
                    output = following["body"]
            line = text.count("\n", 0, match.start("lang")) + 1
            found.append(Block(page, line, match["lang"], mode, match["body"], output))
    return found


BLOCKS = blocks()


def by_mode(mode: str) -> list:
    return [pytest.param(block, id=block.name) for block in BLOCKS if block.mode == mode]


def test_every_runnable_block_says_how_it_is_tested():
    unmarked = [
        block.name
        for block in BLOCKS
        if block.mode not in ("stack", "standalone") and not block.mode.startswith("not run: ")
    ]
    assert not unmarked, f"blocks without <!-- doc-test: ... -->: {unmarked}"


def test_the_front_page_fits_on_a_screen_and_its_links_resolve():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    for target in re.findall(r"\]\((?!https?:|#)([^)#]+)", readme):
        assert (REPO / target).exists(), target


def same_output(expected: str, actual: str) -> bool:
    """Equal text around the numbers; each number within 1e-3 (relative or absolute)."""
    expected_text, actual_text = (" ".join(NUMBER.sub("#", t).split()) for t in (expected, actual))
    if expected_text != actual_text:
        return False
    return all(
        math.isclose(float(a), float(b), rel_tol=1e-3, abs_tol=1e-3)
        for a, b in zip(NUMBER.findall(expected), NUMBER.findall(actual), strict=True)
    )


def run(block: Block, ports: dict[str, int], workdir: Path) -> str:
    """Run the block with the ports replaced; TFS_TARGET and TFS_REST_URL (which the CLI and
    the other clients read, defaulting to ports 8500 and 8501) say the same."""
    body = block.body
    for documented, actual in ports.items():
        body = re.sub(rf"\b{documented}\b", str(actual), body)
    command = (
        ["bash", "-euo", "pipefail", "-c", body]
        if block.lang == "bash"
        else [sys.executable, "-c", body]
    )
    env = {
        **os.environ,
        "TMPDIR": str(workdir),
        "TFS_TARGET": f"localhost:{ports['8500']}",
        "TFS_REST_URL": f"http://localhost:{ports['8501']}",
    }
    env.pop("MODELS_DIR", None)
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=TIMEOUT_S)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, f"{block.name} exited {process.returncode}:\n{output[-3000:]}"
    return output


def check(block: Block, output: str, ports: dict[str, int]) -> None:
    """The printed output against the page's, whose ports are the documented ones."""
    if block.output is not None:
        expected = block.output
        for documented, actual in ports.items():
            expected = re.sub(rf"\b{documented}\b", str(actual), expected)
        assert same_output(expected, output), (
            f"{block.name} printed:\n{output}\nthe page says:\n{block.output}"
        )


@pytest.mark.parametrize("block", by_mode("stack"))
def test_a_documented_command_works_against_make_runs_stack(block, docs_stack, tmp_path):
    ports = {"8000": docs_stack.port, "8500": docs_stack.grpc_port, "8501": docs_stack.rest_port}
    check(block, run(block, ports, tmp_path), ports)


@pytest.mark.integration
@pytest.mark.parametrize("block", by_mode("standalone"))
def test_a_documented_command_works_by_itself(block, tmp_path):
    ports = {port: free_port() for port in PORTS}
    check(block, run(block, ports, tmp_path), ports)
