"""Where a trained model came from, for its evaluation.json."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path


def provenance() -> dict[str, str | bool | None]:
    """Which code is about to train a model: the commit, whether the training code differs from
    it, and when. Taken before training starts, since the tree may change during a long run."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    changes = git("status", "--porcelain", "--", "training", "contract", "pyproject.toml")
    return {
        "commit": git("rev-parse", "HEAD"),
        "uncommitted_changes": bool(changes) if changes is not None else None,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
