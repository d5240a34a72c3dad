"""Versions published, corrupted and rolled back under load; models added at run time."""

import os
import shutil
import threading
import time

import grpc
import numpy as np
import pytest

from protocol.messages import (
    get_model_status_pb2,
    model_management_pb2,
    model_server_config_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)
from protocol.tensors import to_tensor_proto
from serving.processes import start_model_server, write_models_config
from tests.support.waiting import wait_until

State = get_model_status_pb2.ModelVersionStatus


@pytest.fixture(scope="module")
def server(models_dir, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("hot_reload")
    base = workdir / "sum_regressor"
    shutil.copytree(models_dir / "sum_regressor" / "1", base / "1")
    config = write_models_config(workdir / "models.config", {"sum_regressor": base})
    process = start_model_server(config, ["sum_regressor"], workdir)
    process.base = base
    yield process
    assert process.stop() == 0, process.log_tail()


class Load:
    """Predict requests in a loop on a background thread, recording versions and failures."""

    def __init__(self, address):
        self.stub = prediction_service_pb2_grpc.PredictionServiceStub(
            grpc.insecure_channel(address)
        )
        self.versions, self.failures = [], []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "sum_regressor"
        request.inputs["sequences"].CopyFrom(to_tensor_proto(np.array([[1, 0, 1]], np.float32)))
        while not self.stop.is_set():
            try:
                self.versions.append(
                    self.stub.Predict(request, timeout=10).model_spec.version.value
                )
            except grpc.RpcError as error:
                self.failures.append(f"{error.code().name}: {error.details()}")

    def wait_for_version(self, version, deadline):
        stop_at = time.monotonic() + deadline
        while time.monotonic() < stop_at:
            if self.versions and self.versions[-1] == version:
                return
            time.sleep(0.05)
        raise AssertionError(f"version {version} not served within {deadline} s")


def publish(base, source, version, truncate_variables=False):
    """Copy a version into a staging folder (optionally corrupting it there), then rename."""
    staging = base / f".staging-{version}"
    shutil.copytree(source, staging)
    if truncate_variables:
        for data in (staging / "variables").glob("variables.data*"):
            data.write_bytes(data.read_bytes()[:10])
    os.rename(staging, base / str(version))
    return base / str(version)


def status(address, version):
    stub = model_service_pb2_grpc.ModelServiceStub(grpc.insecure_channel(address))
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "sum_regressor"
    request.model_spec.version.value = version
    return stub.GetModelStatus(request, timeout=10).model_version_status[0]


def wait_for_state(address, version, state, deadline):
    """The version's status once it reaches `state`; NOT_FOUND means not seen yet."""
    stop_at = time.monotonic() + deadline
    while time.monotonic() < stop_at:
        try:
            current = status(address, version)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise
        else:
            if current.state == state:
                return current
        time.sleep(0.2)
    raise AssertionError(f"version {version} did not reach state {state} in {deadline} s")


def test_publish_corrupt_and_roll_back_under_load_without_a_failed_request(server):
    load = Load(server.grpc_address)
    load.thread.start()
    try:
        load.wait_for_version(1, deadline=30)
        started = time.monotonic()
        publish(server.base, server.base / "1", 2)
        load.wait_for_version(2, deadline=60)
        print(f"version 2 served {time.monotonic() - started:.1f} s after publishing")

        publish(server.base, server.base / "1", 3, truncate_variables=True)
        failed = wait_for_state(server.grpc_address, 3, State.END, deadline=60)
        assert failed.status.error_code == grpc.StatusCode.OUT_OF_RANGE.value[0]
        assert "Read less bytes than requested" in failed.status.error_message
        served_before = len(load.versions)
        wait_until(lambda: len(load.versions) > served_before + 50, what="50 more answers")
        assert set(load.versions[served_before:]) == {2}

        shutil.rmtree(server.base / "2")
        load.wait_for_version(1, deadline=60)
    finally:
        load.stop.set()
        load.thread.join(15)
    assert load.failures == []
    assert len(load.versions) > 50


def test_models_added_and_removed_by_reload_config(server, models_dir):
    stub = model_service_pb2_grpc.ModelServiceStub(grpc.insecure_channel(server.grpc_address))
    config = model_server_config_pb2.ModelServerConfig()
    for name, base in (("sum_regressor", server.base), ("forecaster", models_dir / "forecaster")):
        config.model_config_list.config.add(
            name=name, base_path=str(base), model_platform="tensorflow"
        )
    request = model_management_pb2.ReloadConfigRequest(config=config)
    assert stub.HandleReloadConfigRequest(request, timeout=60).status.error_code == 0
    query = get_model_status_pb2.GetModelStatusRequest()
    query.model_spec.name = "forecaster"
    assert stub.GetModelStatus(query, timeout=10).model_version_status[0].state == State.AVAILABLE

    del config.model_config_list.config[1]
    stub.HandleReloadConfigRequest(model_management_pb2.ReloadConfigRequest(config=config))
    (removed,) = stub.GetModelStatus(query, timeout=10).model_version_status
    assert removed.state == State.END  # TF Serving's ServableStateMonitor keeps the state
