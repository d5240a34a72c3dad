"""Reading the server's configuration files (TF Serving's text protos) into typed settings."""

from __future__ import annotations

from pathlib import Path

import grpc
from google.protobuf import text_format

from client.protos import model_server_config_pb2
from serving.modelserver.batching import BatchingOptions
from serving.modelserver.config_protos import BatchingParameters, MonitoringConfig, SSLConfig

DEFAULT_PROMETHEUS_PATH = "/monitoring/prometheus/metrics"


class ConfigError(Exception):
    """A flag or config file is unusable; the message says which and why."""


def read_text_proto(path: str, message):
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}") from error
    try:
        return text_format.Parse(text, message)
    except text_format.ParseError as error:
        raise ConfigError(f"{path}: not a valid {message.DESCRIPTOR.name} ({error})") from error


def model_configs(flags) -> list:
    """The ModelConfig list from --model_config_file, or one model from --model_name/base_path."""
    if flags.model_config_file:
        config = read_text_proto(
            flags.model_config_file, model_server_config_pb2.ModelServerConfig()
        )
        if config.WhichOneof("config") != "model_config_list":
            raise ConfigError(f"{flags.model_config_file}: expected a model_config_list")
        return list(config.model_config_list.config)
    if not flags.model_base_path:
        raise ConfigError("Both --model_config_file and --model_base_path are empty")
    single = model_server_config_pb2.ModelConfig(
        name=flags.model_name, base_path=flags.model_base_path, model_platform="tensorflow"
    )
    return [single]


def batching_options(flags) -> BatchingOptions | None:
    if not flags.enable_batching:
        return None
    if not flags.batching_parameters_file:
        return BatchingOptions()
    return BatchingOptions.from_proto(
        read_text_proto(flags.batching_parameters_file, BatchingParameters())
    )


def prometheus_path(flags) -> str | None:
    if not flags.monitoring_config_file:
        return None
    config = read_text_proto(flags.monitoring_config_file, MonitoringConfig())
    if not config.prometheus_config.enable:
        return None
    return config.prometheus_config.path or DEFAULT_PROMETHEUS_PATH


def server_credentials(flags) -> grpc.ServerCredentials | None:
    if not flags.ssl_config_file:
        return None
    ssl = read_text_proto(flags.ssl_config_file, SSLConfig())
    if not ssl.server_key or not ssl.server_cert:
        raise ConfigError(f"{flags.ssl_config_file}: server_key and server_cert are required")
    return grpc.ssl_server_credentials(
        [(ssl.server_key.encode(), ssl.server_cert.encode())],
        root_certificates=ssl.custom_ca.encode() or None,
        require_client_auth=ssl.client_verify,
    )


def grpc_options(flags) -> list[tuple[str, object]]:
    """Unlimited message sizes (as TF Serving sets), plus --grpc_channel_arguments."""
    options: dict[str, object] = {
        "grpc.max_receive_message_length": -1,
        "grpc.max_send_message_length": -1,
    }
    for pair in filter(None, flags.grpc_channel_arguments.split(",")):
        key, _, value = pair.partition("=")
        if not key or not _:
            raise ConfigError(f"--grpc_channel_arguments: expected key=value, got {pair!r}")
        options[key.strip()] = int(value) if value.strip().lstrip("-").isdigit() else value.strip()
    return list(options.items())
