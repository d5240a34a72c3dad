"""Per-version evaluation report (JSON) and plots, written beside the SavedModel."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from contract.layout import REPORT_FILE
from training.trained import TrainedModel


def write_report(directory: Path, trained: TrainedModel) -> None:
    """Write `evaluation.json` and every plot of `trained` into `directory`."""
    report = {**trained.report, "provenance": provenance()}
    (directory / REPORT_FILE).write_text(json.dumps(report, indent=2, sort_keys=True))
    for file_name, draw in trained.plots.items():
        draw(directory / file_name)


def provenance() -> dict[str, str | bool | None]:
    """Which code trained the model: the commit, and whether its training code had edits."""
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
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def plot_learning_curves(history: dict[str, list[float]], title: str):
    """A plot writer for per-epoch training curves: one panel per metric, train and val."""

    def draw(path: Path) -> None:
        names = [k for k in history if not k.startswith("val_")]
        fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.5), squeeze=False)
        for axis, name in zip(axes[0], names, strict=True):
            axis.plot(range(1, len(history[name]) + 1), history[name], label="train")
            if f"val_{name}" in history:
                axis.plot(range(1, len(history[name]) + 1), history[f"val_{name}"], label="val")
            axis.set(xlabel="epoch", ylabel=name, yscale="log" if "loss" in name else "linear")
            axis.legend()
        fig.suptitle(title)
        save_figure(fig, path)

    return draw


def save_figure(fig, path: Path) -> None:
    """Save and close a matplotlib figure."""
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
