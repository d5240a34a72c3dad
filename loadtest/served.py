"""The models the load tools serve, the model server as they start it, and what its metrics say
of a run (rows per session run, failed requests)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from contract.layout import existing_versions
from loadtest import prometheus
from serving.launcher import CONFIG_DIR
from serving.processes import ServerProcess, http, start_model_server, write_models_config


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """--models-dir (MODELS_DIR, models) and --data-dir (DATA_DIR, data) for the load tools."""
    parser.add_argument(
        "--models-dir", type=Path, default=Path(os.environ.get("MODELS_DIR", "models"))
    )
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("DATA_DIR", "data")))


def model_base(models_dir: Path, name: str) -> Path:
    """The model's folder under `models_dir`, or exit with advice when it has no version."""
    base = models_dir.resolve() / name
    if not existing_versions(base):
        raise SystemExit(f"no {name} under {base}: run `make models` first")
    return base


def write_batching_config(path: Path, max_batch_size: int) -> Path:
    """BatchingParameters for the benchmarks: batches up to `max_batch_size`, 2 ms timeout."""
    path.write_text(
        f"max_batch_size {{ value: {max_batch_size} }} batch_timeout_micros {{ value: 2000 }}"
        " max_enqueued_batches { value: 100 } num_batch_threads { value: 1 }"
    )
    return path


def start_batched_model_server(served: dict[str, Path], workdir: Path) -> ServerProcess:
    """The model server as `make run` configures it for the benchmarks: `served` (name → base
    path), batching and monitoring from the repo's run configs."""
    return start_model_server(
        write_models_config(workdir / "models.config", served),
        list(served),
        workdir,
        [
            "--enable_batching",
            f"--batching_parameters_file={CONFIG_DIR / 'batching.config'}",
            f"--monitoring_config_file={CONFIG_DIR / 'monitoring.config'}",
        ],
        deadline=300,
    )


def batch_rows(metrics: str, model: str) -> tuple[float, float]:
    """(session runs, rows they carried) of `model`, from the model server's metrics text (its
    seqserve_batch_size histogram)."""
    return (
        prometheus.total(metrics, "seqserve_batch_size_count", model_name=model),
        prometheus.total(metrics, "seqserve_batch_size_sum", model_name=model),
    )


def model_runs(rest_url: str, model: str) -> tuple[float, float]:
    """`batch_rows` of `model` on the model server now."""
    return batch_rows(http("GET", rest_url + "/monitoring/prometheus/metrics")[1], model)


def failed_grpc_requests(rest_url: str, model: str) -> int:
    """The server's count of `model`'s requests answered with a status other than OK."""
    _, text = http("GET", rest_url + "/monitoring/prometheus/metrics")
    counts = prometheus.samples(text, ":tensorflow:serving:request_count", model_name=model)
    return int(sum(value for labels, value in counts if labels["status"] != "OK"))
