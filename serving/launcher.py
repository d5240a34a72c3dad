"""`python -m serving.launcher` (`make serve`): start TF Serving, however it is available
(`--render`: only write the configs, with the images' paths, for `docker compose up`).

SERVING_BACKEND picks it (default `auto`):
  tfserving  the `tensorflow_model_server` binary on PATH;
  docker     the `tensorflow/serving` image of TF_SERVING_RELEASE (`-gpu`, with `--gpus all`,
             when nvidia-smi sees a GPU), with the models and rendered configs mounted;
  embedded   `python -m serving.modelserver`, the TF-Serving-compatible server in this repo;
  auto       the first of those that is there.
All three get the same flags and the same rendered config files; LaunchSettings (below) holds
the settings.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Literal

from google.protobuf import text_format
from pydantic import Field, field_validator

from contract.layout import existing_versions
from contract.models import MODELS
from protocol.messages import model_server_config_pb2
from serving.environment import EnvSettings, SettingsError

CONFIG_DIR = Path(__file__).parent / "config"
MODELS_CONFIG_HEADER = (
    "# Written by serving.launcher from contract.models (labels: from the versions on disk,\n"
    "# where known); shared by the real server, its images and the embedded one.\n"
)
REPLICA_PORT_STEP = 10
"""Model server replica i listens on TFS_GRPC_PORT + 10·i and TFS_REST_PORT + 10·i."""
CONTAINER_MODELS, CONTAINER_CONFIG = "/models", "/config"
TF_SERVING_RELEASE = "2.21.0"
"""The TensorFlow Serving release the images run (docker backend, docker-compose.yml, the
Kubernetes tfserving-gpu overlay): the newest, whose tensorflow-serving-api wheel is 2.21.0."""
TF_SERVING_TENSORFLOW = "2.21.0"
"""The TensorFlow that release is built on (its WORKSPACE pins TensorFlow's 2.21 release
branch): `tests/serving/test_tfserving_release.py` loads every export in it, in a virtual
environment of its own, the way TF Serving does."""


class LaunchSettings(EnvSettings):
    """How to start the model server; the ports are where it listens (clients connect to
    TFS_TARGET, see serving.gateway.settings)."""

    backend: Literal["auto", "tfserving", "docker", "embedded"] = Field(
        "auto",
        alias="SERVING_BACKEND",
        description=(
            "Which TF Serving to start: `tfserving` (the binary on PATH), `docker` (the "
            "tensorflow/serving image, -gpu where nvidia-smi sees a GPU), `embedded` (this repo's"
            " server), or `auto`, the first of those there."
        ),
    )
    models_dir: Path = Field(
        Path("models"), alias="MODELS_DIR", description="The exported models, `<name>/<version>/`."
    )
    run_dir: Path = Field(
        Path("run"),
        alias="SERVING_RUN_DIR",
        description="Where the rendered configs and the XLA cache go.",
    )
    grpc_port: int = Field(
        8500,
        alias="TFS_GRPC_PORT",
        description="Where the model server listens for gRPC.",
        ge=1,
        le=65535,
    )
    rest_port: int = Field(
        8501,
        alias="TFS_REST_PORT",
        description="Where the model server listens for REST.",
        ge=1,
        le=65535,
    )
    batching: bool = Field(
        True,
        alias="SERVING_BATCHING",
        description="Batch requests with serving/config/batching.config (`--enable_batching`).",
    )
    image: str = Field(
        "tensorflow/serving",
        alias="TFS_IMAGE",
        description="The TF Serving image (docker backend); the tag is the pinned release.",
    )

    @field_validator("models_dir", "run_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.resolve()


def version_labels(models_dir: Path) -> dict[str, int]:
    """`<model>_stable` → previous version, `<model>_canary` → newest (both newest if alone)."""
    labels = {}
    for name in MODELS:
        versions = existing_versions(models_dir / name)
        if not versions:
            raise SystemExit(f"no exported version under {models_dir / name}: run `make models`")
        labels[f"{name}_canary"] = versions[-1]
        labels[f"{name}_stable"] = versions[-2] if len(versions) > 1 else versions[-1]
    return labels


def models_config(models_path: str, models_dir: Path | None) -> str:
    """TF Serving's ModelServerConfig for every model in the contract: its newest two versions
    loaded, labelled `stable` (the previous) and `canary` (the newest) from the versions in
    `models_dir`, as a text proto. Without `models_dir` (a cluster's storage, not known here),
    no labels."""
    labels = version_labels(models_dir) if models_dir is not None else {}
    config = model_server_config_pb2.ModelServerConfig()
    for name in MODELS:
        model = config.model_config_list.config.add(
            name=name, base_path=f"{models_path}/{name}", model_platform="tensorflow"
        )
        model.model_version_policy.latest.num_versions = 2
        if labels:
            for label in ("stable", "canary"):
                model.version_labels[label] = labels[f"{name}_{label}"]
    return MODELS_CONFIG_HEADER + text_format.MessageToString(config)


def render_configs(settings: LaunchSettings, models_path: str) -> dict[str, Path]:
    """Write models/batching/monitoring configs into the run dir with the paths filled in."""
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    rendered = {"models": settings.run_dir / "models.config"}
    rendered["models"].write_text(models_config(models_path, settings.models_dir))
    for name in ("batching", "monitoring"):
        rendered[name] = settings.run_dir / f"{name}.config"
        shutil.copyfile(CONFIG_DIR / f"{name}.config", rendered[name])
    return rendered


def server_flags(
    settings: LaunchSettings,
    config_dir: str,
    grpc_port: int,
    rest_port: int,
    grpc_health: bool = False,
):
    """The model server's command line, for every way it runs (here, Docker, Kubernetes);
    `grpc_health` adds the gRPC health service Kubernetes' probes ask."""
    flags = [
        f"--port={grpc_port}",
        f"--rest_api_port={rest_port}",
        f"--model_config_file={config_dir}/models.config",
        f"--monitoring_config_file={config_dir}/monitoring.config",
        "--file_system_poll_wait_seconds=1",
        "--allow_version_labels_for_unavailable_models=true",
        "--xla_cpu_compilation_enabled=true",
    ]
    if settings.batching:
        flags += [
            "--enable_batching=true",
            f"--batching_parameters_file={config_dir}/batching.config",
        ]
    if grpc_health:
        flags.append("--enable_grpc_healthcheck_service=true")
    return flags


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False)
    return probe.returncode == 0


def gpu_available() -> bool:
    if shutil.which("nvidia-smi") is None:
        return False
    return subprocess.run(["nvidia-smi", "-L"], capture_output=True, check=False).returncode == 0


def choose_backend(requested: str) -> str:
    if requested != "auto":
        return requested
    if shutil.which("tensorflow_model_server"):
        return "tfserving"
    if docker_available():
        return "docker"
    return "embedded"


def command(settings: LaunchSettings) -> list[str]:
    backend = choose_backend(settings.backend)
    if backend == "docker":
        render_configs(settings, CONTAINER_MODELS)
        gpu = gpu_available()
        tag = f"{TF_SERVING_RELEASE}-gpu" if gpu else TF_SERVING_RELEASE
        image = f"{settings.image}:{tag}"
        return [
            "docker",
            "run",
            "--rm",
            "--init",
            *(["--gpus", "all"] if gpu else []),
            "-p",
            f"{settings.grpc_port}:8500",
            "-p",
            f"{settings.rest_port}:8501",
            "-v",
            f"{settings.models_dir}:{CONTAINER_MODELS}:ro",
            "-v",
            f"{settings.run_dir}:{CONTAINER_CONFIG}:ro",
            image,
            *server_flags(settings, CONTAINER_CONFIG, 8500, 8501),
        ]
    render_configs(settings, str(settings.models_dir))
    flags = server_flags(settings, str(settings.run_dir), settings.grpc_port, settings.rest_port)
    if backend == "tfserving":
        return ["tensorflow_model_server", *flags]
    return [sys.executable, "-m", "serving.modelserver", *flags]


def xla_cache_environment(run_dir: Path, env=os.environ) -> dict[str, str]:
    """TF_XLA_FLAGS with a persistent compilation cache in the run dir: a restarted server (or
    a new version with the same graphs) reuses the XLA executables instead of compiling them
    again (measured: ~0.4 s → ~0.1 s a shape). Flags already set are kept."""
    flags = env.get("TF_XLA_FLAGS", "")
    if "tf_xla_persistent_cache_directory" in flags:
        return {}
    cache = run_dir / "xla-cache"
    return {"TF_XLA_FLAGS": f"{flags} --tf_xla_persistent_cache_directory={cache}".strip()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m serving.launcher", description=__doc__)
    parser.add_argument(
        "--render",
        action="store_true",
        help="write the configs into SERVING_RUN_DIR for the images' mounts, and exit",
    )
    args = parser.parse_args(argv)
    try:
        settings = LaunchSettings.from_env()
    except SettingsError as error:
        raise SystemExit(f"settings: {error}") from None
    if args.render:
        for path in render_configs(settings, CONTAINER_MODELS).values():
            print(path)
        return
    argv = command(settings)
    print("starting:", " ".join(argv), flush=True)
    os.execvpe(argv[0], argv, {**os.environ, **xla_cache_environment(settings.run_dir)})


if __name__ == "__main__":
    main()
