"""The version manager with a fake loader: policies, failures, labels, awaiting, statuses."""

import logging
import threading
import time
from pathlib import Path

import pytest
from google.protobuf import text_format

from protocol.messages import model_server_config_pb2
from serving.modelserver.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ServingError,
)
from serving.modelserver.manager import (
    ManagerOptions,
    ModelManager,
    State,
    aspired_versions,
    versions_on_disk,
)

FAST = ManagerOptions(
    max_num_load_retries=0, load_retry_interval_micros=0, file_system_poll_wait_seconds=1
)


class FakeServable:
    def __init__(self, name, version, path):
        self.name, self.version, self.path = name, version, path


def loader(name, version, path: Path):
    if (path / "BROKEN").exists():
        raise NotFound(f"truncated variables in {path}")
    return FakeServable(name, version, path)


def manager(options=FAST, unloaded=None) -> ModelManager:
    return ModelManager(loader, (unloaded if unloaded is not None else []).append, options)


def publish(base: Path, name: str, broken: bool = False) -> None:
    folder = base / name
    folder.mkdir(parents=True)
    if broken:
        (folder / "BROKEN").write_text("")


def config(base: Path, extra: str = "", name: str = "m"):
    return text_format.Parse(
        f'name: "{name}" base_path: "{base}" {extra}', model_server_config_pb2.ModelConfig()
    )


def states(models: ModelManager, name="m"):
    return [(s.version, s.state) for s in models.statuses(name)]


def test_zero_padded_folders_are_versions_and_the_newest_serves(tmp_path):
    publish(tmp_path, "00000123")
    models = manager()
    models.apply_config([config(tmp_path)])
    served = models.resolve("m")
    assert (served.version, served.path.name) == (123, "00000123")
    publish(tmp_path, "00000124")
    models.poll()
    assert models.resolve("m").version == 124
    assert states(models) == [(124, State.AVAILABLE), (123, State.END)]


def test_a_version_that_fails_is_reported_with_its_cause_and_the_older_keeps_serving(
    tmp_path, caplog
):
    publish(tmp_path, "1")
    models = manager(ManagerOptions(max_num_load_retries=1, load_retry_interval_micros=0))
    models.apply_config([config(tmp_path)])
    publish(tmp_path, "2", broken=True)
    with caplog.at_level(logging.INFO):
        models.poll()
        models.poll()
    assert models.resolve("m").version == 1
    (failed,) = models.statuses("m", 2)
    assert failed.state == State.END and "truncated variables" in failed.error.message
    assert "Loading servable: {name: m version: 2} failed: NOT_FOUND: truncated" in caplog.text
    assert "Retrying of Loading servable: {name: m version: 2} retry: 1" in caplog.text
    assert caplog.text.count("failed: NOT_FOUND") == 2


def test_removing_the_newest_version_rolls_back(tmp_path):
    publish(tmp_path, "1")
    publish(tmp_path, "2")
    unloaded = []
    models = manager(unloaded=unloaded)
    models.apply_config([config(tmp_path, "model_version_policy { all {} }")])
    assert [v for v, s in states(models) if s == State.AVAILABLE] == [2, 1]
    (tmp_path / "2").rmdir()
    models.poll()
    assert models.resolve("m").version == 1 and [s.version for s in unloaded] == [2]
    with pytest.raises(NotFound, match=r"Servable not found for request: Specific\(m, 2\)"):
        models.resolve("m", version=2)


def test_labels_resolve_and_unknown_labels_are_invalid(tmp_path):
    publish(tmp_path, "1")
    publish(tmp_path, "2")
    labels = "version_labels { key: 'stable' value: 1 } version_labels { key: 'canary' value: 2 }"
    models = manager()
    models.apply_config([config(tmp_path, f"model_version_policy {{ all {{}} }} {labels}")])
    assert models.resolve("m", label="stable").version == 1
    assert models.resolve("m", label="canary").version == 2
    with pytest.raises(InvalidArgument, match=r"^Unrecognized servable version label: beta$"):
        models.resolve("m", label="beta")


def test_a_label_on_an_unavailable_version_is_refused_unless_allowed_for_a_new_label(tmp_path):
    publish(tmp_path, "1")
    labelled = config(tmp_path, "version_labels { key: 'next' value: 7 }")
    with pytest.raises(FailedPrecondition, match="assign label to version 7 of model m"):
        manager().apply_config([labelled])
    allowing = manager(ManagerOptions(allow_version_labels_for_unavailable_models=True))
    allowing.apply_config([labelled])
    moved = config(tmp_path, "version_labels { key: 'next' value: 8 }")
    with pytest.raises(FailedPrecondition, match="version 8"):
        allowing.apply_config([moved])


def test_reload_adds_and_removes_models_whose_states_remain(tmp_path):
    publish(tmp_path / "a", "1")
    publish(tmp_path / "b", "3")
    models = manager()
    models.apply_config([config(tmp_path / "a", name="a")])
    models.apply_config([config(tmp_path / "b", name="b")])
    assert models.resolve("b").version == 3
    with pytest.raises(NotFound, match=r"Latest\(a\)"):
        models.resolve("a")
    assert states(models, "a") == [(1, State.END)]


@pytest.mark.parametrize(
    ("configs", "message"),
    [
        (lambda p: [config(p), config(p)], "Illegal to list model m multiple times"),
        (lambda p: [config(Path("relative"))], "to have an absolute path or URI"),
        (lambda p: [config(p, 'model_platform: "pytorch"')], "unsupported platform pytorch"),
    ],
)
def test_invalid_config_lists(tmp_path, configs, message):
    with pytest.raises(InvalidArgument, match=message):
        manager().apply_config(configs(tmp_path))


def test_applying_a_config_fails_when_a_model_cannot_load(tmp_path):
    publish(tmp_path, "00000123", broken=True)
    with pytest.raises(ServingError) as raised:
        manager().apply_config([config(tmp_path)])
    assert str(raised.value).startswith(  # server_core.cc, WaitUntilModelsAvailable
        "1 model(s) did not become available: {{{name: m version: 123} due to error: NOT_FOUND: "
    )
    assert str(raised.value).endswith("}, }")


def test_applying_a_config_waits_for_a_model_without_versions(tmp_path):
    models = manager()
    threading.Timer(0.5, publish, args=(tmp_path, "1")).start()
    started = time.monotonic()
    models.apply_config([config(tmp_path)])
    assert models.resolve("m").version == 1
    assert 0.4 < time.monotonic() - started < 5


def test_status_lists_versions_newest_first_and_names_missing_ones(tmp_path):
    for version in ("1", "2", "3"):
        publish(tmp_path, version)
    models = manager()
    models.apply_config([config(tmp_path, "model_version_policy { all {} }")])
    assert [s.version for s in models.statuses("m")] == [3, 2, 1]
    with pytest.raises(NotFound, match=r"^Could not find version 9 of model m$"):
        models.statuses("m", 9)
    with pytest.raises(NotFound, match=r"^Could not find any versions of model x$"):
        models.statuses("x")


def test_versions_on_disk_parse_names_as_integers(tmp_path):
    for name in ("00000123", "7", "notes", ".staging-1", "01", "1"):
        (tmp_path / name).mkdir()
    found = versions_on_disk(tmp_path)
    assert sorted(found) == [1, 7, 123]
    assert found[1].name == "1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {5}),
        ("latest { num_versions: 2 }", {4, 5}),
        ("all {}", {1, 4, 5}),
        ("specific { versions: 1 versions: 9 }", {1}),
    ],
)
def test_version_policies(text, expected):
    policy = text_format.Parse(
        f"model_version_policy {{ {text} }}", model_server_config_pb2.ModelConfig()
    ).model_version_policy
    assert aspired_versions(policy, [1, 4, 5]) == expected
