"""Model versions, labels, status and (re)loading, as TF Serving's `model_servers/
get_model_status_impl_test.cc`, `server_core.cc`, `model_service_impl.cc`, `core/loader_harness.cc`
and `sources/storage_path/file_system_storage_path_source.cc` define them."""

import shutil
import time

import grpc
import pytest

from protocol.messages import (
    get_model_status_pb2,
    model_management_pb2,
    model_server_config_pb2,
)
from tests.serving.conformance import models
from tests.serving.conformance.tfs import RPC_TIMEOUT, model_stub, predict_x, prediction_stub

State = get_model_status_pb2.ModelVersionStatus


def status_request(name=None, version=None, label=None):
    request = get_model_status_pb2.GetModelStatusRequest()
    if name is not None:
        request.model_spec.name = name
    if version is not None:
        request.model_spec.version.value = version
    if label is not None:
        request.model_spec.version_label = label
    return request


def code_of(call, request) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as raised:
        call(request, RPC_TIMEOUT)
    return raised.value.code()


def test_status_needs_a_model_spec(config_server):
    """MissingOrEmptyModelSpecFailure: an empty request is INVALID_ARGUMENT."""
    stub = model_stub(config_server)
    assert code_of(stub.GetModelStatus, status_request()) == grpc.StatusCode.INVALID_ARGUMENT


def test_status_of_unknown_models_and_versions_is_not_found(config_server):
    """InvalidModelNameFailure and InvalidModelVersionFailure."""
    stub = model_stub(config_server)
    assert code_of(stub.GetModelStatus, status_request("nonexistent_model")) == (
        grpc.StatusCode.NOT_FOUND
    )
    assert code_of(stub.GetModelStatus, status_request("two_versions", 125)) == (
        grpc.StatusCode.NOT_FOUND
    )


def test_status_of_all_versions_newest_first_and_of_one(config_server):
    """AllVersionsSuccess and SingleVersionSuccess; the VersionMap is newest first, and a label
    in the spec is not consulted."""
    stub = model_stub(config_server)
    every = stub.GetModelStatus(status_request("two_versions"), RPC_TIMEOUT)
    assert [s.version for s in every.model_version_status] == [124, 123]
    assert all(s.status.error_code == 0 for s in every.model_version_status)
    assert all(s.status.error_message == "" for s in every.model_version_status)
    one = stub.GetModelStatus(status_request("two_versions", 123), RPC_TIMEOUT)
    assert [(s.version, s.state) for s in one.model_version_status] == [(123, State.AVAILABLE)]
    labelled = stub.GetModelStatus(status_request("two_versions", label="stable"), RPC_TIMEOUT)
    assert [s.version for s in labelled.model_version_status] == [124, 123]


@pytest.mark.parametrize(("label", "version"), [("stable", 123), ("canary", 124), (None, 124)])
def test_labels_and_latest_pick_the_version(config_server, label, version):
    """ServableRequestFromModelSpec: a label resolves through the config's version_labels;
    without version or label, the latest available version answers."""
    request = predict_x("two_versions")
    if label:
        request.model_spec.version_label = label
    result = prediction_stub(config_server).Predict(request, RPC_TIMEOUT)
    assert result.model_spec.version.value == version


def test_an_unknown_label_is_invalid_argument(config_server):
    """GetModelVersionForLabel: "Unrecognized servable version label"."""
    request = predict_x("two_versions")
    request.model_spec.version_label = "beta"
    with pytest.raises(grpc.RpcError) as raised:
        prediction_stub(config_server).Predict(request, RPC_TIMEOUT)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.details() == "Unrecognized servable version label: beta"


def test_a_spec_without_name_is_invalid(config_server):
    """ServableRequestFromModelSpec: "ModelSpec has no name specified."."""
    with pytest.raises(grpc.RpcError) as raised:
        prediction_stub(config_server).Predict(predict_x(""), RPC_TIMEOUT)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.details() == "ModelSpec has no name specified."


def test_a_model_that_cannot_load_stops_the_server_with_the_cause(own_server, testdata):
    """_TestBadModel's model (a checkpoint, no SavedModel): ServerCore::Create waits for the
    model, WaitUntilModelsAvailable fails, and main.cc prints "Failed to start server" and
    returns -1. The loader harness logs each failed attempt with its cause."""
    server = own_server(
        "--model_name=default",
        f"--model_base_path={testdata / models.BAD_MODEL}",
        "--max_num_load_retries=1",
        "--load_retry_interval_micros=100000",
        wait=False,
    )
    assert server.process.wait(60) != 0
    log = server.log()
    assert "Loading servable: {name: default version: 123} failed: NOT_FOUND: " in log
    assert "Could not find SavedModel .pb or .pbtxt" in log
    assert "Retrying of Loading servable: {name: default version: 123} retry: 1" in log
    assert "Failed to start server. Error: UNKNOWN: 1 model(s) did not become available:" in log


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('config { name: "m" base_path: "relative/path" }', "to have an absolute path"),
        (
            'config { name: "m" base_path: "/x" } config { name: "m" base_path: "/y" }',
            "Illegal to list model m multiple times in config list",
        ),
    ],
)
def test_invalid_model_config_lists_stop_the_server(own_server, tmp_path, config, message):
    """ValidateModelConfigList: unique names, absolute base paths."""
    path = tmp_path / "models.config"
    path.write_text(f"model_config_list {{ {config} }}")
    server = own_server(f"--model_config_file={path}", wait=False)
    assert server.process.wait(60) != 0
    assert message in server.log()


def test_a_label_on_an_unavailable_version_stops_the_server_unless_allowed(
    own_server, testdata, tmp_path
):
    """UpdateModelVersionLabelMap: FAILED_PRECONDITION, unless
    --allow_version_labels_for_unavailable_models (for a new label)."""
    path = tmp_path / "models.config"
    path.write_text(
        f'model_config_list {{ config {{ name: "m" base_path: "{testdata / models.TF1_MODEL}" '
        "version_labels { key: 'next' value: 124 } } }"
    )
    refused = own_server(f"--model_config_file={path}", wait=False)
    assert refused.process.wait(60) != 0
    assert (
        "Request to assign label to version 124 of model m, which is not currently available "
        "for inference" in refused.log()
    )
    allowed = own_server(
        f"--model_config_file={path}", "--allow_version_labels_for_unavailable_models"
    )
    assert prediction_stub(allowed).Predict(predict_x("m"), RPC_TIMEOUT).model_spec.version.value


def config_request(*models_and_paths) -> model_management_pb2.ReloadConfigRequest:
    config = model_server_config_pb2.ModelServerConfig()
    for name, path in models_and_paths:
        config.model_config_list.config.add(
            name=name, base_path=str(path), model_platform="tensorflow"
        )
    return model_management_pb2.ReloadConfigRequest(config=config)


def test_reload_config_adds_and_removes_models_and_reports_failures(own_server, testdata, tmp_path):
    """HandleReloadConfigRequest: OK when the new models load; an error status (and the RPC's
    error) when a new model does not become available, the others still serving; a removed
    model's versions stay in the status as END (the ServableStateMonitor keeps states)."""
    server = own_server(
        "--model_name=default",
        f"--model_base_path={testdata / models.TF1_MODEL}",
        "--max_num_load_retries=0",
    )
    stub = model_stub(server)
    three = ("half_plus_three", testdata / models.HALF_PLUS_THREE)
    response = stub.HandleReloadConfigRequest(
        config_request(("default", testdata / models.TF1_MODEL), three), RPC_TIMEOUT
    )
    assert response.status.error_code == 0
    result = prediction_stub(server).Predict(predict_x("half_plus_three"), RPC_TIMEOUT)
    assert result.outputs["y"].float_val[0] == 4.0

    bad = tmp_path / "bad"
    shutil.copytree(testdata / models.BAD_MODEL, bad)
    with pytest.raises(grpc.RpcError) as raised:
        stub.HandleReloadConfigRequest(
            config_request(("default", testdata / models.TF1_MODEL), three, ("bad", bad)),
            RPC_TIMEOUT * 3,
        )
    assert raised.value.code() != grpc.StatusCode.OK
    assert "did not become available" in raised.value.details()
    assert prediction_stub(server).Predict(predict_x("default"), RPC_TIMEOUT)

    stub.HandleReloadConfigRequest(
        config_request(("default", testdata / models.TF1_MODEL)), RPC_TIMEOUT
    )
    removed = stub.GetModelStatus(status_request("half_plus_three"), RPC_TIMEOUT)
    assert [(s.version, s.state) for s in removed.model_version_status] == [(123, State.END)]
    assert code_of(prediction_stub(server).Predict, predict_x("half_plus_three")) == (
        grpc.StatusCode.NOT_FOUND
    )


def test_versions_appear_and_go_as_folders_do(own_server, testdata, tmp_path):
    """FileSystemStoragePathSource: any child named as an integer is a version (zero-padded
    names keep their folder); the latest policy serves the newest and unloads the older."""
    base = tmp_path / "model"
    shutil.copytree(testdata / models.TF1_MODEL / "00000123", base / "00000123")
    server = own_server(
        "--model_name=default",
        f"--model_base_path={base}",
        "--file_system_poll_wait_seconds=1",
    )
    stub = prediction_stub(server)
    assert stub.Predict(predict_x(), RPC_TIMEOUT).model_spec.version.value == 123
    shutil.copytree(testdata / models.TF1_MODEL / "00000123", base / ".staging")
    (base / ".staging").rename(base / "0124")

    deadline = time.monotonic() + 30
    while stub.Predict(predict_x(), RPC_TIMEOUT).model_spec.version.value != 124:
        assert time.monotonic() < deadline, "version 124 was not loaded"
        time.sleep(0.3)
    statuses = model_stub(server).GetModelStatus(status_request("default"), RPC_TIMEOUT)
    assert [(s.version, s.state) for s in statuses.model_version_status] == [
        (124, State.AVAILABLE),
        (123, State.END),
    ]
