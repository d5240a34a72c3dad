"""`python -m training.summary`: the latest version's metrics against the targets, as Markdown."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from contract.layout import EXTRA_DIR, REPORT_FILE, existing_versions
from contract.models import MODELS
from training.targets import (
    DIGIT_TEST_ACCURACY,
    FORECAST_MSE,
    SUM_SHARE_65_128,
    SUM_TOLERANCE,
)

Row = tuple[str, str, str, bool | None]
"""metric, measured, target, and whether the target is met (None: reported, no target)."""


def rows_for(name: str, report: dict) -> list[Row]:
    """The rows for one model's report."""
    metrics = report["metrics"]
    if name == "sum_regressor":
        return _sum_rows(metrics)
    if name == "digit_classifier":
        accuracy = metrics["test_accuracy"]
        return [
            (
                f"test accuracy ({metrics['test_images']:,} images)",
                f"{accuracy:.2%}",
                f"≥ {DIGIT_TEST_ACCURACY:.1%}",
                accuracy >= DIGIT_TEST_ACCURACY,
            )
        ]
    one_step = metrics["one_step_mse"]
    rows: list[Row] = [
        (
            "one-step-ahead MSE",
            f"{one_step:.1e}",
            f"≤ {FORECAST_MSE[1]:g}",
            one_step <= FORECAST_MSE[1],
        )
    ]
    for horizon, mse in sorted(metrics["mse_by_horizon"].items(), key=lambda kv: int(kv[0])):
        target = FORECAST_MSE.get(int(horizon)) if int(horizon) > 1 else None
        rows.append(
            (
                f"MSE over a {horizon}-step forecast",
                f"{mse:.1e}",
                "report" if target is None else f"≤ {target:g}",
                None if target is None else mse <= target,
            )
        )
    return rows


def _sum_rows(metrics: dict) -> list[Row]:
    every = f"all within ±{SUM_TOLERANCE}"

    def measured(key: str) -> str:
        entry = metrics[key]
        return f"{entry['within_tolerance']:.2%} within; worst {entry['max_abs_error']:.2g}"

    def all_within(key: str) -> bool:
        return metrics[key]["max_abs_error"] < SUM_TOLERANCE

    def first_miss(key: str) -> str:
        length = metrics[key]
        return "none up to the longest probed" if length is None else f"length {length}"

    return [
        (
            "random densities, lengths 1–64",
            measured("lengths_1_64"),
            every,
            all_within("lengths_1_64"),
        ),
        ("all ones, lengths 1–64", measured("all_ones_1_64"), every, all_within("all_ones_1_64")),
        (
            "all zeros, lengths 1–64",
            measured("all_zeros_1_64"),
            every,
            all_within("all_zeros_1_64"),
        ),
        (
            "random densities, lengths 65–128 (never trained)",
            measured("lengths_65_128"),
            f"≥ {SUM_SHARE_65_128:.0%} within ±{SUM_TOLERANCE}",
            metrics["lengths_65_128"]["within_tolerance"] >= SUM_SHARE_65_128,
        ),
        (
            "first all-ones length off by ±0.05 or more",
            first_miss("all_ones_first_miss"),
            "report",
            None,
        ),
        (
            "first all-zeros length off by ±0.05 or more",
            first_miss("all_zeros_first_miss"),
            "report",
            None,
        ),
    ]


def summarise(models_dir: Path) -> str:
    lines = [
        "| model | version | metric | measured | target | met | training time |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in MODELS:
        versions = existing_versions(models_dir / name)
        if not versions:
            lines.append(f"| {name} | — | not trained | | | | |")
            continue
        path = models_dir / name / str(versions[-1]) / EXTRA_DIR / REPORT_FILE
        report = json.loads(path.read_text())
        seconds = f"{report['training_seconds']:.0f} s"
        for metric, measured, target, met in rows_for(name, report):
            verdict = {True: "yes", False: "**no**", None: ""}[met]
            lines.append(
                f"| {name} | {versions[-1]} | {metric} | {measured} | {target} | {verdict} "
                f"| {seconds} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m training.summary", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("models"), help="models folder")
    print(summarise(parser.parse_args(argv).out))


if __name__ == "__main__":
    main()
