"""Per-version evaluation report (JSON) and plots, written beside the SavedModel."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

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


class Stopwatch:
    """`with Stopwatch() as fit:` ... `fit.seconds`: how long the block took."""

    seconds = 0.0

    def __enter__(self) -> Stopwatch:
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._started


def training_report(
    name: str,
    metrics: dict[str, Any],
    fit: Stopwatch,
    data: dict[str, Any],
    hyperparameters: dict[str, Any],
    history: Mapping[str, Sequence[float]],
    **extra: Any,
) -> dict[str, Any]:
    """The `evaluation.json` every recipe writes: the model, its metrics, how long the fit took,
    the data it was judged on, the hyperparameters and the per-epoch history (as floats), and
    whatever else the recipe adds."""
    return {
        "model": name,
        "metrics": metrics,
        "training_seconds": round(fit.seconds, 1),
        "data": data,
        "hyperparameters": hyperparameters,
        "history": {key: [float(value) for value in values] for key, values in history.items()},
        **extra,
    }


def generated_data(source: str, metrics: dict[str, Any], held_out: str) -> dict[str, Any]:
    """The report's `data` for data generated from a seed: where it came from, and the digest
    of the held-out set the metrics were measured on (`metrics["held_out_sha256"]`)."""
    return {"source": source, "sha256": metrics["held_out_sha256"], "sha256_of": held_out}


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
