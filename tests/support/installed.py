"""Running code against the installed wheel (the `site` fixture), apart from this checkout."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path


def run_isolated(site: Path, cwd: Path, *argv: str) -> subprocess.CompletedProcess:
    """Python without `site` (so not this checkout's editable install), the wheel first on
    the path and this environment's third-party packages after it."""
    path = f"{site}:{sysconfig.get_paths()['purelib']}:{sysconfig.get_paths()['platlib']}"
    return subprocess.run(
        [sys.executable, "-S", *argv],
        cwd=cwd,
        env={"PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=120,
    )


MYPY_CONFIG = """\
[mypy]
strict_optional = True
[mypy-seqserve.protocol.generated.*,grpc.*,google.protobuf.*,PIL.*]
follow_imports = skip
ignore_missing_imports = True
"""


def mypy(site: Path, cwd: Path, code: str) -> subprocess.CompletedProcess:
    (cwd / "app.py").write_text(code)
    (cwd / "mypy.ini").write_text(MYPY_CONFIG)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "app.py"],
        cwd=cwd,
        env={"MYPYPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
