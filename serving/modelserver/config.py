"""The server's configuration files (TF Serving's text protos), read as TF Serving reads them.

After `util/proto_util.h` (ParseProtoTextFile) and `model_servers/server.cc`: a missing file
is NOT_FOUND, a file that does not parse is "Invalid protobuf file" (the parser's own message
goes to the log, as protobuf's does), and the flags combine as BuildAndStart combines them.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import grpc
from google.protobuf import text_format
from tensorflow.core.protobuf import config_pb2

from protocol.messages import model_server_config_pb2
from serving.modelserver.batching import BatchingOptions
from serving.modelserver.config_protos import BatchingParameters, MonitoringConfig, SSLConfig
from serving.modelserver.errors import InvalidArgument, NotFound

log = logging.getLogger(__name__)

DEFAULT_PROMETHEUS_PATH = "/monitoring/prometheus/metrics"
DEFAULT_THREAD_POOL = "model_server_batch_threads"
PER_MODEL_BATCHING_FILE = "batching_params.pbtxt"


def read_text_proto(path: str | Path, message):
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise NotFound(f"{path}; {error.strerror}") from None
    try:
        return text_format.Parse(text, message)
    except text_format.ParseError as error:
        log.error("Error parsing text-format %s: %s", message.DESCRIPTOR.full_name, error)
        raise InvalidArgument(f"Invalid protobuf file: '{path}'") from None


def model_configs(flags) -> list:
    """The ModelConfig list of --model_config_file, or the one model of --model_name/base_path."""
    if flags.model_config_file:
        config = read_text_proto(
            flags.model_config_file, model_server_config_pb2.ModelServerConfig()
        )
        if config.WhichOneof("config") != "model_config_list":
            raise InvalidArgument("Invalid ServerModelConfig")
        return list(config.model_config_list.config)
    log.info(
        "Building single TensorFlow model file config:  model_name: %s model_base_path: %s",
        flags.model_name,
        flags.model_base_path,
    )
    single = model_server_config_pb2.ModelConfig(
        name=flags.model_name, base_path=flags.model_base_path, model_platform="tensorflow"
    )
    return [single]


def batching_options(flags) -> BatchingOptions | None:
    """The server-wide batching options; None without --enable_batching."""
    if not flags.enable_batching:
        return None
    if not flags.batching_parameters_file:
        return BatchingOptions(thread_pool_name=DEFAULT_THREAD_POOL)
    return BatchingOptions.from_proto(
        read_text_proto(flags.batching_parameters_file, BatchingParameters())
    )


def per_model_batching_options(version_path: Path, common: BatchingOptions):
    """--enable_per_model_batching_parameters: the version's batching_params.pbtxt, whose
    thread settings give way to the shared pool's; None (no batching) without the file."""
    path = version_path / PER_MODEL_BATCHING_FILE
    if not path.exists():
        return None
    options = BatchingOptions.from_proto(read_text_proto(path, BatchingParameters()))
    return dataclasses.replace(
        options,
        num_batch_threads=common.num_batch_threads,
        thread_pool_name=common.thread_pool_name,
    )


def session_config_proto(flags) -> config_pb2.ConfigProto:
    if not flags.tensorflow_session_config_file:
        return config_pb2.ConfigProto()
    return read_text_proto(flags.tensorflow_session_config_file, config_pb2.ConfigProto())


def prometheus_path(flags) -> str | None:
    if not flags.monitoring_config_file:
        return None
    config = read_text_proto(flags.monitoring_config_file, MonitoringConfig())
    if not config.prometheus_config.enable:
        return None
    return config.prometheus_config.path or DEFAULT_PROMETHEUS_PATH


def server_credentials(flags) -> grpc.ServerCredentials | None:
    """BuildServerCredentials: ALTS, TLS from --ssl_config_file, or none."""
    if flags.use_alts_credentials:
        return grpc.alts_server_credentials()
    if not flags.ssl_config_file:
        return None
    ssl = read_text_proto(flags.ssl_config_file, SSLConfig())
    return grpc.ssl_server_credentials(
        [(ssl.server_key.encode(), ssl.server_cert.encode())],
        root_certificates=ssl.custom_ca.encode() or None,
        require_client_auth=ssl.client_verify,
    )


def grpc_options(flags) -> list[tuple[str, object]]:
    """Unlimited message sizes (as TF Serving sets), plus --grpc_channel_arguments, whose
    values are integers where they parse as one."""
    options: dict[str, object] = {
        "grpc.max_receive_message_length": -1,
        "grpc.max_send_message_length": -1,
    }
    for pair in filter(None, flags.grpc_channel_arguments.split(",")):
        key, _, value = pair.partition("=")
        try:
            options[key] = int(value)
        except ValueError:
            options[key] = value
    return list(options.items())
