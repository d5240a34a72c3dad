"""Flag parsing (TensorFlow's grammar, TF Serving's flag table) and the config readers."""

from types import SimpleNamespace

import pytest

from serving.modelserver import config, flags
from serving.modelserver.errors import InvalidArgument, NotFound

MAIN_CC_FLAGS = {
    "port", "grpc_socket_path", "rest_api_port", "rest_api_num_threads",
    "rest_api_timeout_in_ms", "rest_api_enable_cors_support", "enable_batching",
    "allow_version_labels_for_unavailable_models", "batching_parameters_file",
    "enable_per_model_batching_parameters", "model_config_file",
    "model_config_file_poll_wait_seconds", "model_name", "model_base_path", "num_load_threads",
    "num_unload_threads", "max_num_load_retries", "load_retry_interval_micros",
    "file_system_poll_wait_seconds", "flush_filesystem_caches", "tensorflow_session_parallelism",
    "tensorflow_session_config_file", "tensorflow_intra_op_parallelism",
    "tensorflow_inter_op_parallelism", "use_alts_credentials", "ssl_config_file",
    "platform_config_file", "per_process_gpu_memory_fraction", "saved_model_tags",
    "grpc_channel_arguments", "grpc_max_threads", "enable_model_warmup",
    "num_request_iterations_for_warmup", "version", "monitoring_config_file",
    "remove_unused_fields_from_bundle_metagraph", "prefer_tflite_model", "num_tflite_pools",
    "num_tflite_interpreters_per_pool", "enable_signature_method_name_check",
    "xla_cpu_compilation_enabled", "xla_gpu_compilation_enabled", "enable_profiler",
    "thread_pool_factory_config_file", "mixed_precision", "skip_initialize_tpu",
    "enable_grpc_healthcheck_service", "enable_serialization_as_tensor_content",
}  # fmt: skip
"""The flag list of TF Serving's model_servers/main.cc."""


def test_every_tensorflow_model_server_flag_is_known():
    assert {flag.name for flag in flags.FLAGS} == MAIN_CC_FLAGS
    assert len(MAIN_CC_FLAGS) == 48


def test_defaults_are_tf_servings():
    """server.h's Options: REST off, 4 × CPUs threads, 5 retries a minute apart, warmup on."""
    values = flags.parse([]).values
    assert (values.port, values.rest_api_port, values.file_system_poll_wait_seconds) == (8500, 0, 1)
    assert values.rest_api_num_threads == values.grpc_max_threads == 4 * flags.CPUS
    assert (values.max_num_load_retries, values.load_retry_interval_micros) == (5, 60_000_000)
    assert values.enable_model_warmup and not values.enable_batching
    assert (values.model_name, values.saved_model_tags) == ("default", "serve")


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("--enable_batching", True),
        ("--enable_batching=true", True),
        ("--enable_batching=false", False),
    ],
)
def test_booleans_are_bare_or_true_or_false(argument, value):
    assert flags.parse([argument]).values.enable_batching is value


@pytest.mark.parametrize(
    "argument", ["--enable_batching=1", "--enable_batching=yes", "--port=8500x", "--port=1.5"]
)
def test_values_that_do_not_parse_fail_the_command_line(argument):
    with pytest.raises(flags.FlagError, match="Couldn't interpret value"):
        flags.parse([argument])


def test_unknown_arguments_are_kept_aside_and_parsing_goes_on():
    """`--port 9000` is two arguments neither of which assigns a flag, as in TensorFlow."""
    parsed = flags.parse(["--port", "9000", "--no_such_flag=1", "--rest_api_port=8501"])
    assert parsed.unknown == ("--port", "9000", "--no_such_flag=1")
    assert (parsed.values.port, parsed.values.rest_api_port) == (8500, 8501)
    assert parsed.given == {"rest_api_port"}


def test_flags_without_an_effect_here_are_named_with_the_reason():
    parsed = flags.parse(["--num_tflite_pools=4", "--enable_batching"])
    ((name, why),) = parsed.ignored_flags()
    assert name == "num_tflite_pools" and "TF Lite" in why


def test_usage_lists_every_flag_with_its_default():
    text = flags.usage()
    assert all(f"--{name}=" in text for name in MAIN_CC_FLAGS)
    assert '--saved_model_tags="serve"' in text


def values(*argv):
    return flags.parse(list(argv)).values


def test_single_model_flags_make_one_config():
    (model,) = config.model_configs(values("--model_name=m", "--model_base_path=/x"))
    assert (model.name, model.base_path, model.model_platform) == ("m", "/x", "tensorflow")


def test_config_files_missing_or_malformed_are_errors_as_in_tf_serving(tmp_path, caplog):
    with pytest.raises(NotFound, match=r"nope\.config; No such file or directory"):
        config.model_configs(values(f"--model_config_file={tmp_path}/nope.config"))
    bad = tmp_path / "bad.config"
    bad.write_text("model_config_list { config { nme: 'x' } }")
    with pytest.raises(InvalidArgument, match=r"Invalid protobuf file: '.*bad.config'"):
        config.model_configs(values(f"--model_config_file={bad}"))
    assert "Error parsing text-format tensorflow.serving.ModelServerConfig" in caplog.text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "model_base_path and server_options.model_config_file are empty"),
        (["--model_base_path=/x", "--port=0"], "grpc_port or server_options.grpc_socket_path"),
        (["--model_base_path=/x", "--batching_parameters_file=/b"], "enable_batching to true"),
        (
            ["--model_base_path=/x", "--use_alts_credentials", "--ssl_config_file=/s"],
            "Either use_alts_credentials must be false or ssl_config_file must be empty.",
        ),
    ],
)
def test_impossible_combinations(argv, message):
    with pytest.raises(InvalidArgument, match=message):
        flags.check(values(*argv))


def test_batching_options_from_the_file_with_tf_servings_defaults(tmp_path):
    batching = tmp_path / "batching.config"
    batching.write_text(
        "max_batch_size { value: 16 } batch_timeout_micros { value: 500 } "
        "allowed_batch_sizes: 8 allowed_batch_sizes: 16 "
        "enable_large_batch_splitting { value: true } max_execution_batch_size { value: 8 }"
    )
    options = config.batching_options(
        values("--enable_batching", f"--batching_parameters_file={batching}")
    )
    assert (options.max_batch_size, options.batch_timeout_micros) == (16, 500)
    assert options.allowed_batch_sizes == (8, 16) and options.execution_limit == 8
    assert (options.max_enqueued_batches, options.thread_pool_name) == (10, "batch_threads")
    default = config.batching_options(values("--enable_batching"))
    assert (default.max_batch_size, default.thread_pool_name) == (
        1000,
        "model_server_batch_threads",
    )
    assert config.batching_options(values()) is None


def test_allowed_batch_sizes_must_end_at_the_max_batch_size(tmp_path):
    batching = tmp_path / "batching.config"
    batching.write_text(
        "max_batch_size { value: 16 } allowed_batch_sizes: 4 allowed_batch_sizes: 8"
    )
    with pytest.raises(InvalidArgument, match="Last entry in allowed_batch_sizes must match"):
        config.batching_options(
            values("--enable_batching", f"--batching_parameters_file={batching}")
        )


def test_monitoring_and_session_config(tmp_path):
    monitoring = tmp_path / "monitoring.config"
    monitoring.write_text("prometheus_config { enable: true }")
    path = config.prometheus_path(values(f"--monitoring_config_file={monitoring}"))
    assert path == "/monitoring/prometheus/metrics"
    session = tmp_path / "session.config"
    session.write_text("intra_op_parallelism_threads: 3 allow_soft_placement: true")
    proto = config.session_config_proto(values(f"--tensorflow_session_config_file={session}"))
    assert proto.intra_op_parallelism_threads == 3 and proto.allow_soft_placement


def test_grpc_channel_arguments_are_ints_where_they_parse():
    options = dict(config.grpc_options(SimpleNamespace(grpc_channel_arguments="a=1,b=x")))
    assert options["a"] == 1 and options["b"] == "x"
    assert options["grpc.max_receive_message_length"] == -1
