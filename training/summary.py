"""`python -m training.summary`: the latest version's metrics against the targets, as Markdown."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from contract.layout import EXTRA_DIR, REPORT_FILE, existing_versions
from contract.models import MODELS


def rows_for(name: str, report: dict) -> list[tuple[str, str, str]]:
    """(metric, measured, target) rows for one model's report."""
    metrics = report["metrics"]
    if name == "sum_regressor":
        share = "share within ±0.05"
        return [
            (f"{share}, length 10", f"{metrics['length_10']['within_tolerance']:.2%}", "≥ 99.9%"),
            (
                f"{share}, lengths 1–64",
                f"{metrics['lengths_1_64']['within_tolerance']:.2%}",
                "≥ 99.5%",
            ),
            (
                f"{share}, lengths 65–128 (untrained)",
                f"{metrics['lengths_65_128']['within_tolerance']:.2%}",
                "report",
            ),
        ]
    if name == "digit_classifier":
        return [
            (
                f"test accuracy ({metrics['test_images']:,} images)",
                f"{metrics['test_accuracy']:.2%}",
                "≥ 99.4%",
            )
        ]
    rows = [("one-step-ahead MSE", f"{metrics['one_step_mse']:.2e}", "≤ 1e-4")]
    for horizon, mse in sorted(metrics["mse_by_horizon"].items(), key=lambda kv: int(kv[0])):
        rows.append(
            (
                f"MSE over a {horizon}-step forecast",
                f"{mse:.2e}",
                "≤ 0.05" if horizon == "20" else "report",
            )
        )
    return rows


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
