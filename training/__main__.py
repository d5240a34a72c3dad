"""`python -m training <model|all>`: train models and export each as a new version."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

from contract.models import MODELS
from training.data import DataError
from training.settings import TrainSettings


def parse_args(argv: list[str] | None = None) -> tuple[list[str], TrainSettings, bool]:
    defaults = TrainSettings()
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    parser.add_argument("model", choices=[*MODELS, "all"], help="which model to train")
    parser.add_argument("--epochs", type=int, help="training epochs (default: per model)")
    parser.add_argument("--batch-size", type=int, help="batch size (default: per model)")
    parser.add_argument(
        "--units", type=int, help="LSTM width of the digit classifier (default 128; 256 on a GPU)"
    )
    parser.add_argument("--seed", type=int, default=defaults.seed, help="random seed (%(default)s)")
    parser.add_argument(
        "--out", type=Path, default=defaults.out, help="models folder, env MODELS_DIR (%(default)s)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=defaults.data_dir,
        help="data cache folder, env DATA_DIR (%(default)s)",
    )
    parser.add_argument(
        "--mnist",
        type=Path,
        default=defaults.mnist_path,
        dest="mnist_path",
        help="MNIST to use instead of the cache: mnist.npz, mnist.pkl.gz or an IDX folder "
        "(env MNIST_PATH)",
    )
    parser.add_argument(
        "--cell",
        choices=["keras", "scratch"],
        default="keras",
        help="LSTM implementation for the digit classifier (%(default)s)",
    )
    parser.add_argument("--quick", action="store_true", help="tiny, fast run for tests")
    parser.add_argument(
        "--xla",
        action=argparse.BooleanOptionalAction,
        help="export the signatures compiled with XLA (default: yes, no with --quick); TF "
        "Serving then needs --xla_cpu_compilation_enabled=true",
    )
    parser.add_argument(
        "--if-missing",
        action="store_true",
        help="skip models that already have an exported version",
    )
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress bars"
    )
    args = vars(parser.parse_args(argv))
    model = args.pop("model")
    names = list(MODELS) if model == "all" else [model]
    if_missing = args.pop("if_missing")
    return names, TrainSettings(**args), if_missing


def main(argv: list[str] | None = None) -> int:
    names, settings, if_missing = parse_args(argv)
    from contract.layout import existing_versions
    from training.export import export_version
    from training.provenance import provenance
    from training.runtime import device_name, seed_everything

    for name in names:
        if if_missing and existing_versions(settings.out / name):
            print(f"{name}: already exported under {settings.out / name}, skipping")
            continue
        model = importlib.import_module(f"training.{name}")
        seed_everything(settings.seed, deterministic_ops=not getattr(model, "USES_XLA", False))
        print(f"{name}: training on {device_name()}{' (quick)' if settings.quick else ''}")
        source = provenance()
        started = time.perf_counter()
        try:
            trained = model.train(settings)
        except DataError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        trained.report["provenance"] = source
        version_dir = export_version(trained, settings.out)
        elapsed = time.perf_counter() - started
        print(f"{name}: exported {version_dir} in {elapsed:.0f} s")
        print(json.dumps(trained.report["metrics"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
