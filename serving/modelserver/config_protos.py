"""TF Serving's config messages that the tensorflow-serving-api wheel does not ship.

`MonitoringConfig`, `SSLConfig` and `BatchingParameters` are declared here with TF Serving's
own field names and numbers (monitoring_config.proto, ssl_config.proto,
session_bundle_config.proto), in a private descriptor pool, so TF Serving's text-format
config files parse exactly as the real server parses them.
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, wrappers_pb2

_F = descriptor_pb2.FieldDescriptorProto
_PACKAGE = "tensorflow.serving"


def _message(file, name: str, fields: list[tuple[str, int, int, str | None, bool]]) -> None:
    message = file.message_type.add(name=name)
    for field_name, number, field_type, type_name, repeated in fields:
        field = message.field.add(name=field_name, number=number, type=field_type)
        field.label = _F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL
        if type_name:
            field.type_name = type_name


def _build_pool() -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    wrappers = descriptor_pb2.FileDescriptorProto()
    wrappers_pb2.DESCRIPTOR.CopyToProto(wrappers)
    pool.Add(wrappers)
    file = descriptor_pb2.FileDescriptorProto(
        name="seqserve/tf_serving_configs.proto",
        package=_PACKAGE,
        syntax="proto3",
        dependency=[wrappers.name],
    )
    int64 = ".google.protobuf.Int64Value"
    _message(
        file,
        "PrometheusConfig",
        [
            ("enable", 1, _F.TYPE_BOOL, None, False),
            ("path", 2, _F.TYPE_STRING, None, False),
        ],
    )
    _message(
        file,
        "MonitoringConfig",
        [
            ("prometheus_config", 1, _F.TYPE_MESSAGE, f".{_PACKAGE}.PrometheusConfig", False),
        ],
    )
    _message(
        file,
        "SSLConfig",
        [
            ("server_key", 1, _F.TYPE_STRING, None, False),
            ("server_cert", 2, _F.TYPE_STRING, None, False),
            ("custom_ca", 3, _F.TYPE_STRING, None, False),
            ("client_verify", 4, _F.TYPE_BOOL, None, False),
        ],
    )
    _message(
        file,
        "BatchingParameters",
        [
            ("max_batch_size", 1, _F.TYPE_MESSAGE, int64, False),
            ("batch_timeout_micros", 2, _F.TYPE_MESSAGE, int64, False),
            ("max_enqueued_batches", 3, _F.TYPE_MESSAGE, int64, False),
            ("num_batch_threads", 4, _F.TYPE_MESSAGE, int64, False),
            ("thread_pool_name", 5, _F.TYPE_MESSAGE, ".google.protobuf.StringValue", False),
            ("allowed_batch_sizes", 6, _F.TYPE_INT64, None, True),
            ("pad_variable_length_inputs", 7, _F.TYPE_BOOL, None, False),
            (
                "enable_large_batch_splitting",
                8,
                _F.TYPE_MESSAGE,
                ".google.protobuf.BoolValue",
                False,
            ),
            ("max_execution_batch_size", 9, _F.TYPE_MESSAGE, int64, False),
        ],
    )
    pool.Add(file)
    return pool


_POOL = _build_pool()


def _class(name: str):
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"{_PACKAGE}.{name}"))


MonitoringConfig = _class("MonitoringConfig")
SSLConfig = _class("SSLConfig")
BatchingParameters = _class("BatchingParameters")
