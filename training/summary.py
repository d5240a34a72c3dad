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


def rows_for(name: str, report: dict) -> list[tuple[str, str, str]]:
    """(metric, measured, target) rows for one model's report."""
    metrics = report["metrics"]
    if name == "sum_regressor":
        return _sum_rows(metrics)
    if name == "digit_classifier":
        return [
            (
                f"test accuracy ({metrics['test_images']:,} images)",
                f"{metrics['test_accuracy']:.2%}",
                f"≥ {DIGIT_TEST_ACCURACY:.1%}",
            )
        ]
    rows = [("one-step-ahead MSE", f"{metrics['one_step_mse']:.1e}", f"≤ {FORECAST_MSE[1]:g}")]
    for horizon, mse in sorted(metrics["mse_by_horizon"].items(), key=lambda kv: int(kv[0])):
        target = FORECAST_MSE.get(int(horizon))
        rows.append(
            (
                f"MSE over a {horizon}-step forecast",
                f"{mse:.1e}",
                f"≤ {target:g}" if target is not None and int(horizon) > 1 else "report",
            )
        )
    return rows


def _sum_rows(metrics: dict) -> list[tuple[str, str, str]]:
    every = f"all within ±{SUM_TOLERANCE}"

    def worst(key: str) -> str:
        entry = metrics[key]
        return f"{entry['within_tolerance']:.2%} within; worst {entry['max_abs_error']:.3f}"

    def first_miss(key: str) -> str:
        length = metrics[key]
        return "none up to the longest probed" if length is None else f"length {length}"

    return [
        ("random densities, lengths 1–64", worst("lengths_1_64"), every),
        ("all ones, lengths 1–64", worst("all_ones_1_64"), every),
        ("all zeros, lengths 1–64", worst("all_zeros_1_64"), every),
        (
            "random densities, lengths 65–128 (never trained)",
            worst("lengths_65_128"),
            f"≥ {SUM_SHARE_65_128:.0%} within ±{SUM_TOLERANCE}",
        ),
        ("first all-ones length off by ±0.05 or more", first_miss("all_ones_first_miss"), "report"),
        (
            "first all-zeros length off by ±0.05 or more",
            first_miss("all_zeros_first_miss"),
            "report",
        ),
    ]


def summarise(models_dir: Path) -> str:
    lines = [
        "| model | version | metric | measured | target | training time |",
        "|---|---|---|---|---|---|",
    ]
    for name in MODELS:
        versions = existing_versions(models_dir / name)
        if not versions:
            lines.append(f"| {name} | — | not trained | | | |")
            continue
        path = models_dir / name / str(versions[-1]) / EXTRA_DIR / REPORT_FILE
        report = json.loads(path.read_text())
        for metric, measured, target in rows_for(name, report):
            seconds = f"{report['training_seconds']:.0f} s"
            lines.append(
                f"| {name} | {versions[-1]} | {metric} | {measured} | {target} | {seconds} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m training.summary", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("models"), help="models folder")
    print(summarise(parser.parse_args(argv).out))


if __name__ == "__main__":
    main()
