from pathlib import Path

import pytest

from client.protos import model_server_config_pb2
from serving.modelserver.errors import InvalidArgument, NotFound
from serving.modelserver.manager import ModelManager, State, aspired_versions


class FakeServable:
    def __init__(self, name, version, path):
        self.name, self.version, self.path = name, version, path


def loader(name, version, path: Path):
    if (path / "BROKEN").exists():
        raise OSError("truncated variables")
    return FakeServable(name, version, path)


def publish(base: Path, version: int, broken: bool = False) -> None:
    folder = base / str(version)
    folder.mkdir(parents=True)
    (folder / "saved_model.pb").write_bytes(b"")
    if broken:
        (folder / "BROKEN").write_text("")


def config(base: Path, policy: str = "", labels=None):
    model = model_server_config_pb2.ModelConfig(name="m", base_path=str(base))
    if policy == "all":
        model.model_version_policy.all.SetInParent()
    for label, version in (labels or {}).items():
        model.version_labels[label] = version
    return model


def states(manager):
    return {s.version: s.state for s in manager.statuses("m")}


def test_latest_version_is_served_and_replaced_by_a_newer_one(tmp_path):
    publish(tmp_path, 1)
    manager = ModelManager(loader)
    manager.apply_config([config(tmp_path)])
    assert manager.resolve("m").version == 1
    publish(tmp_path, 2)
    manager.poll()
    assert manager.resolve("m").version == 2
    assert states(manager) == {1: State.END, 2: State.AVAILABLE}


def test_a_broken_version_is_reported_and_never_replaces_the_working_one(tmp_path):
    publish(tmp_path, 1)
    manager = ModelManager(loader)
    manager.apply_config([config(tmp_path)])
    publish(tmp_path, 2, broken=True)
    manager.poll()
    manager.poll()
    assert manager.resolve("m").version == 1
    (broken,) = manager.statuses("m", 2)
    assert broken.state == State.END and "truncated variables" in str(broken.error)


def test_removing_the_newest_version_rolls_back(tmp_path):
    publish(tmp_path, 1)
    publish(tmp_path, 2)
    manager = ModelManager(loader)
    manager.apply_config([config(tmp_path, policy="all")])
    assert sorted(s.version for s in manager.statuses("m") if s.state == State.AVAILABLE) == [1, 2]
    (tmp_path / "2" / "saved_model.pb").unlink()
    manager.poll()
    assert manager.resolve("m").version == 1
    with pytest.raises(NotFound, match=r"Specific\(m, 2\)"):
        manager.resolve("m", version=2)


def test_labels_resolve_to_versions(tmp_path):
    publish(tmp_path, 1)
    publish(tmp_path, 2)
    manager = ModelManager(loader)
    manager.apply_config([config(tmp_path, "all", {"stable": 1, "canary": 2})])
    assert manager.resolve("m", label="stable").version == 1
    assert manager.resolve("m", label="canary").version == 2
    with pytest.raises(InvalidArgument, match="Unrecognized servable version label: beta"):
        manager.resolve("m", label="beta")


def test_a_label_on_an_unavailable_version_is_rejected_unless_allowed(tmp_path):
    publish(tmp_path, 1)
    with pytest.raises(InvalidArgument, match="label 'canary' points to version 7"):
        ModelManager(loader).apply_config([config(tmp_path, labels={"canary": 7})])
    allowed = ModelManager(loader, allow_labels_for_unavailable=True)
    allowed.apply_config([config(tmp_path, labels={"canary": 7})])


def test_reload_adds_and_removes_models(tmp_path):
    publish(tmp_path / "a", 1)
    publish(tmp_path / "b", 3)
    manager = ModelManager(loader)
    a = model_server_config_pb2.ModelConfig(name="a", base_path=str(tmp_path / "a"))
    b = model_server_config_pb2.ModelConfig(name="b", base_path=str(tmp_path / "b"))
    manager.apply_config([a])
    manager.apply_config([b])
    assert manager.model_names() == ["b"] and manager.resolve("b").version == 3
    with pytest.raises(NotFound, match=r"Latest\(a\)"):
        manager.resolve("a")


def test_config_errors_are_invalid_arguments(tmp_path):
    manager = ModelManager(loader)
    twice = model_server_config_pb2.ModelConfig(name="m", base_path=str(tmp_path))
    with pytest.raises(InvalidArgument, match="duplicate model names"):
        manager.apply_config([twice, twice])
    with pytest.raises(InvalidArgument, match="needs a name and a base_path"):
        manager.apply_config([model_server_config_pb2.ModelConfig(name="x")])


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
    from google.protobuf import text_format

    policy = text_format.Parse(
        f"model_version_policy {{ {text} }}", model_server_config_pb2.ModelConfig()
    ).model_version_policy
    assert aspired_versions(policy, [1, 4, 5]) == expected
