"""The Makefile's own listing: `make help` names every target a user is told to run."""

import re
import subprocess

from serving.processes import REPO

MAKEFILE = (REPO / "Makefile").read_text()


def phony_targets() -> list[str]:
    line = next(line for line in MAKEFILE.splitlines() if line.startswith(".PHONY:"))
    return line.removeprefix(".PHONY:").split()


def test_make_help_lists_every_phony_target():
    shown = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    listed = {line.split()[0] for line in shown.splitlines() if line.strip()}
    assert listed == set(phony_targets())


def test_every_phony_target_has_a_rule_with_a_description():
    described = set(re.findall(r"^([a-z0-9-]+):[^\n]*## ", MAKEFILE, re.M))
    assert set(phony_targets()) <= described
