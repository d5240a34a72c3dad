"""The conformance suite runs against any TF-Serving-compatible server serving this project's
models (plus `tf1_example`): set CONFORMANCE_REST_URL and CONFORMANCE_GRPC_ADDRESS to point it
at one, e.g. the real tensorflow_model_server; by default it starts the embedded server."""

from __future__ import annotations

import os
from dataclasses import dataclass

import grpc
import pytest

from client.protos import model_service_pb2_grpc, prediction_service_pb2_grpc


@dataclass(frozen=True)
class Target:
    rest_url: str
    grpc_address: str


@pytest.fixture(scope="session")
def target(request) -> Target:
    rest_url = os.environ.get("CONFORMANCE_REST_URL")
    grpc_address = os.environ.get("CONFORMANCE_GRPC_ADDRESS")
    if rest_url and grpc_address:
        return Target(rest_url.rstrip("/"), grpc_address)
    server = request.getfixturevalue("model_server")
    return Target(server.rest_url, server.grpc_address)


@pytest.fixture(scope="session")
def channel(target):
    with grpc.insecure_channel(target.grpc_address) as channel:
        yield channel


@pytest.fixture(scope="session")
def prediction(channel):
    return prediction_service_pb2_grpc.PredictionServiceStub(channel)


@pytest.fixture(scope="session")
def models(channel):
    return model_service_pb2_grpc.ModelServiceStub(channel)
