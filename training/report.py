"""Per-version evaluation report (JSON) and plots, written beside the SavedModel."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from contract.layout import REPORT_FILE
from training.trained import TrainedModel


def write_report(directory: Path, trained: TrainedModel) -> None:
    """Write `evaluation.json` and every plot of `trained` into `directory`."""
    (directory / REPORT_FILE).write_text(json.dumps(trained.report, indent=2, sort_keys=True))
    for file_name, draw in trained.plots.items():
        draw(directory / file_name)


def arrays_sha256(*arrays) -> str:
    """SHA-256 of the arrays' bytes in order: names the exact held-out data a metric came from."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


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
