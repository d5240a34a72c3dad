import sys

import pytest
import yaml
from google.protobuf import text_format

from contract.layout import SERVED_BATCH_SIZES
from contract.models import MAX_BATCH_ROWS, MODELS
from protocol.messages import model_server_config_pb2
from serving import launcher
from serving.environment import SettingsError
from serving.launcher import LaunchSettings, command, render_configs, version_labels
from serving.modelserver.config_protos import BatchingParameters, MonitoringConfig
from serving.processes import REPO


def settings(tmp_path, backend="embedded", batching=True):
    return LaunchSettings(
        backend=backend,
        models_dir=tmp_path / "models",
        run_dir=tmp_path / "run",
        grpc_port=9500,
        rest_port=9501,
        batching=batching,
    )


def make_versions(models_dir, versions):
    for name in MODELS:
        for version in versions:
            (models_dir / name / str(version)).mkdir(parents=True)


def test_stable_is_the_previous_version_and_canary_the_newest(tmp_path):
    make_versions(tmp_path, [1, 2, 3])
    assert version_labels(tmp_path)["forecaster_stable"] == 2
    assert version_labels(tmp_path)["forecaster_canary"] == 3


def test_a_single_version_is_both_stable_and_canary(tmp_path):
    make_versions(tmp_path, [4])
    labels = version_labels(tmp_path)
    assert labels["sum_regressor_stable"] == labels["sum_regressor_canary"] == 4


def test_missing_models_stop_the_launch_with_advice(tmp_path):
    with pytest.raises(SystemExit, match="make models"):
        version_labels(tmp_path)


def test_rendered_configs_parse_as_tf_serving_protos(tmp_path):
    config = settings(tmp_path)
    make_versions(config.models_dir, [1, 2])
    rendered = render_configs(config, str(config.models_dir))
    models = text_format.Parse(
        rendered["models"].read_text(), model_server_config_pb2.ModelServerConfig()
    )
    entries = {c.name: c for c in models.model_config_list.config}
    assert list(entries) == list(MODELS)
    assert entries["digit_classifier"].base_path == str(config.models_dir / "digit_classifier")
    assert dict(entries["digit_classifier"].version_labels) == {"stable": 1, "canary": 2}
    assert entries["forecaster"].model_version_policy.latest.num_versions == 2
    batching = text_format.Parse(rendered["batching"].read_text(), BatchingParameters())
    assert batching.max_batch_size.value == MAX_BATCH_ROWS, "the client splits batches at this"
    assert tuple(batching.allowed_batch_sizes) == SERVED_BATCH_SIZES, "warmup must cover each"
    monitoring = text_format.Parse(rendered["monitoring"].read_text(), MonitoringConfig())
    assert monitoring.prometheus_config.enable


def test_embedded_and_tfserving_get_the_same_flags(tmp_path):
    make_versions(tmp_path / "models", [1])
    embedded = command(settings(tmp_path, "embedded"))
    real = command(settings(tmp_path, "tfserving"))
    assert embedded[:3] == [sys.executable, "-m", "serving.modelserver"]
    assert real[0] == "tensorflow_model_server" and real[1:] == embedded[3:]
    assert "--port=9500" in real and "--enable_batching=true" in real
    assert "--xla_cpu_compilation_enabled=true" in real, "the exports are XLA-compiled"


def test_xla_cache_goes_to_the_run_dir_unless_one_is_set(tmp_path):
    flags = launcher.xla_cache_environment(tmp_path, {"TF_XLA_FLAGS": "--tf_xla_auto_jit=1"})
    cache = tmp_path / "xla-cache"
    assert flags == {
        "TF_XLA_FLAGS": f"--tf_xla_auto_jit=1 --tf_xla_persistent_cache_directory={cache}"
    }
    own = {"TF_XLA_FLAGS": "--tf_xla_persistent_cache_directory=/cache"}
    assert launcher.xla_cache_environment(tmp_path, own) == {}


def test_docker_mounts_models_and_configs_and_uses_the_gpu_image_when_there_is_one(
    tmp_path, monkeypatch
):
    make_versions(tmp_path / "models", [1])
    monkeypatch.setattr(launcher, "gpu_available", lambda: True)
    argv = command(settings(tmp_path, "docker"))
    assert argv[:5] == ["docker", "run", "--rm", "--init", "--gpus"]
    assert f"tensorflow/serving:{launcher.TF_SERVING_RELEASE}-gpu" in argv
    assert f"{tmp_path / 'models'}:/models:ro" in argv
    assert "--model_config_file=/config/models.config" in argv
    assert 'base_path: "/models/forecaster"' in (tmp_path / "run" / "models.config").read_text()


def test_auto_falls_back_to_the_embedded_server(monkeypatch):
    monkeypatch.setattr(launcher.shutil, "which", lambda name: None)
    assert launcher.choose_backend("auto") == "embedded"


def test_unknown_backend_is_refused():
    with pytest.raises(SettingsError, match="SERVING_BACKEND='k8s'"):
        LaunchSettings.from_env({"SERVING_BACKEND": "k8s"})


@pytest.mark.parametrize(("raw", "batching"), [("no", False), ("0", False), ("true", True)])
def test_batching_is_a_strict_boolean(raw, batching):
    assert LaunchSettings.from_env({"SERVING_BATCHING": raw}).batching is batching


def test_a_boolean_that_is_neither_is_refused_by_name():
    with pytest.raises(SettingsError, match="SERVING_BATCHING='maybe'"):
        LaunchSettings.from_env({"SERVING_BATCHING": "maybe"})


def test_run_directly_with_defaults_the_launcher_writes_absolute_paths(tmp_path, monkeypatch):
    """`python -m serving.launcher` with no variables set (no Makefile exporting MODELS_DIR):
    TF Serving refuses a relative base_path ("Expected model ... to have an absolute path"),
    so the defaults are resolved like given values."""
    monkeypatch.chdir(tmp_path)
    make_versions(tmp_path / "models", [1])
    defaults = LaunchSettings.from_env({})
    assert defaults.models_dir == tmp_path / "models"
    assert defaults.run_dir == tmp_path / "run"
    command(defaults.model_copy(update={"backend": "embedded"}))
    models = text_format.Parse(
        (tmp_path / "run" / "models.config").read_text(),
        model_server_config_pb2.ModelServerConfig(),
    )
    assert [c.base_path for c in models.model_config_list.config] == [
        str(tmp_path / "models" / name) for name in MODELS
    ]


def test_docker_mounts_folders_not_named_volumes_with_defaults(tmp_path, monkeypatch):
    """`SERVING_BACKEND=docker make serve`: `-v run:/config` would be a named volume."""
    monkeypatch.chdir(tmp_path)
    make_versions(tmp_path / "models", [1])
    monkeypatch.setattr(launcher, "gpu_available", lambda: False)
    argv = command(LaunchSettings.from_env({"SERVING_BACKEND": "docker"}))
    mounts = [argv[i + 1] for i, arg in enumerate(argv) if arg == "-v"]
    assert mounts == [f"{tmp_path / 'models'}:/models:ro", f"{tmp_path / 'run'}:/config:ro"]


def test_render_writes_the_configs_for_the_images_and_starts_nothing(tmp_path, monkeypatch, capsys):
    """`python -m serving.launcher --render`, then `docker compose up`: the configs name the
    models where the images mount them."""
    monkeypatch.chdir(tmp_path)
    make_versions(tmp_path / "models", [1])
    monkeypatch.setattr(launcher.os, "execvpe", lambda *args: pytest.fail("started a server"))
    launcher.main(["--render"])
    written = capsys.readouterr().out.split()
    assert written == [
        str(tmp_path / "run" / f"{n}.config") for n in ("models", "batching", "monitoring")
    ]
    assert 'base_path: "/models/forecaster"' in (tmp_path / "run" / "models.config").read_text()


def test_compose_runs_tf_serving_with_the_launchers_flags_and_folders():
    """docker-compose.yml mounts models/ and the rendered run/ where the flags point."""
    service = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["tfserving"]
    defaults = LaunchSettings.from_env({})
    assert set(service["command"]) == set(
        launcher.server_flags(defaults, launcher.CONTAINER_CONFIG, 8500, 8501)
    )
    assert service["volumes"] == [
        f"./models:{launcher.CONTAINER_MODELS}:ro",
        f"./run:{launcher.CONTAINER_CONFIG}:ro",
    ]
