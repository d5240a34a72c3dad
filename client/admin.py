"""Changing what a model server serves (TF Serving's ModelService/HandleReloadConfigRequest),
kept apart from the prediction client: one call replaces the server's whole model list, so it
takes the whole list, each model with its base path, version policy and labels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import grpc

from client.errors import from_grpc
from client.grpc_client import ServingClient
from protocol.messages import model_management_pb2, model_server_config_pb2


@dataclass(frozen=True)
class ServedModel:
    """One entry of the server's model list. `versions`: None serves the latest version
    (TF Serving's default policy), a list serves exactly those; `labels` maps a label to a
    version among them."""

    base_path: str
    versions: Sequence[int] | None = None
    labels: Mapping[str, int] = field(default_factory=dict)


class ModelAdmin:
    """Reconfigures the model server at `address` (the same target forms as ServingClient)."""

    def __init__(self, address: str, timeout: float = 30.0, **client_options):
        self._client = ServingClient(address, timeout=timeout, **client_options)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ModelAdmin:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def reload_config(self, models: Mapping[str, ServedModel], timeout: float | None = None):
        """Serve exactly `models` (name → ServedModel) from now on: a model left out is
        unloaded."""
        request = model_management_pb2.ReloadConfigRequest(config=model_server_config(models))
        client = self._client
        response = client._call(client._models.HandleReloadConfigRequest, request, timeout)
        if response.status.error_code:
            raise from_grpc(_code(response.status.error_code), response.status.error_message)


def model_server_config(models: Mapping[str, ServedModel]):
    config = model_server_config_pb2.ModelServerConfig()
    for name, served in models.items():
        entry = config.model_config_list.config.add(
            name=name, base_path=served.base_path, model_platform="tensorflow"
        )
        if served.versions is not None:
            entry.model_version_policy.specific.versions.extend(served.versions)
        for label, version in served.labels.items():
            entry.version_labels[label] = version
    return config


def _code(number: int):
    """grpc.StatusCode for a numeric status (grpc.StatusCode is keyed by (number, name))."""
    return next(code for code in grpc.StatusCode if code.value[0] == number)
