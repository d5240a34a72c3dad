import pytest

from serving.modelserver import config
from serving.modelserver.config import ConfigError
from serving.modelserver.flags import parse_flags


def test_tf_serving_flag_names_and_defaults():
    flags = parse_flags([])
    assert (flags.port, flags.rest_api_port, flags.file_system_poll_wait_seconds) == (8500, 8501, 1)
    assert flags.enable_model_warmup and not flags.enable_batching


@pytest.mark.parametrize(
    "form", [["--enable_batching"], ["--enable_batching=true"], ["--enable_batching", "true"]]
)
def test_booleans_in_every_form(form):
    assert parse_flags(form).enable_batching


def test_unknown_flags_are_rejected_by_name(capsys):
    with pytest.raises(SystemExit) as exited:
        parse_flags(["--port=1", "--tensorflow_session_paralellism=2"])
    assert exited.value.code == 2
    assert "unrecognized arguments: --tensorflow_session_paralellism=2" in capsys.readouterr().err


def test_single_model_flags_make_one_config():
    (model,) = config.model_configs(parse_flags(["--model_name=m", "--model_base_path=/x"]))
    assert (model.name, model.base_path) == ("m", "/x")


def test_missing_model_source_is_a_config_error():
    with pytest.raises(ConfigError, match="--model_config_file and --model_base_path are empty"):
        config.model_configs(parse_flags([]))


def test_unreadable_and_invalid_config_files_are_named(tmp_path):
    with pytest.raises(ConfigError, match=r"cannot read .*nope\.config"):
        config.model_configs(parse_flags([f"--model_config_file={tmp_path}/nope.config"]))
    bad = tmp_path / "bad.config"
    bad.write_text("model_config_list { config { nme: 'x' } }")
    with pytest.raises(ConfigError, match="not a valid ModelServerConfig"):
        config.model_configs(parse_flags([f"--model_config_file={bad}"]))


def test_batching_parameters_and_monitoring_files(tmp_path):
    batching = tmp_path / "batching.config"
    batching.write_text("max_batch_size { value: 16 } batch_timeout_micros { value: 500 }")
    options = config.batching_options(
        parse_flags(["--enable_batching", f"--batching_parameters_file={batching}"])
    )
    assert (options.max_batch_size, options.batch_timeout_micros) == (16, 500)
    assert config.batching_options(parse_flags([])) is None
    monitoring = tmp_path / "monitoring.config"
    monitoring.write_text("prometheus_config { enable: true }")
    path = config.prometheus_path(parse_flags([f"--monitoring_config_file={monitoring}"]))
    assert path == "/monitoring/prometheus/metrics"


def test_ssl_config_needs_key_and_certificate(tmp_path):
    ssl = tmp_path / "ssl.config"
    ssl.write_text("client_verify: true")
    with pytest.raises(ConfigError, match="server_key and server_cert are required"):
        config.server_credentials(parse_flags([f"--ssl_config_file={ssl}"]))


def test_grpc_channel_arguments():
    options = dict(config.grpc_options(parse_flags(["--grpc_channel_arguments=a=1,b=x"])))
    assert options["a"] == 1 and options["b"] == "x"
    assert options["grpc.max_receive_message_length"] == -1
