"""Session-wide fixtures: quick models exported once by the real training code."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory) -> Path:
    """A models folder holding version 1 of each model, trained with `--quick`."""
    from training.__main__ import main

    out = tmp_path_factory.mktemp("models")
    exit_code = main(
        ["all", "--quick", "--no-progress", "--out", str(out), "--data-dir", str(REPO / "data")]
    )
    assert exit_code == 0
    return out
