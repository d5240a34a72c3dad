"""Settings from the environment: typed, strict, and a bad value named in the error."""

import pytest
from pydantic import ValidationError

from serving.environment import SettingsError
from serving.gateway.settings import GatewaySettings


def test_defaults_when_nothing_or_empty_values_are_set():
    assert GatewaySettings.from_env({}) == GatewaySettings()
    assert GatewaySettings.from_env({"GATEWAY_MAX_BATCH": ""}).max_batch == 64


def test_the_model_server_is_one_target_and_one_rest_url():
    settings = GatewaySettings.from_env(
        {"TFS_TARGET": "tfserving:9000", "TFS_REST_URL": "http://tfserving:9001"}
    )
    assert settings.tfs_target == "tfserving:9000"
    assert settings.rest_address == ("tfserving", 9001)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"GATEWAY_MAX_BATCH": "lots"},
            "GATEWAY_MAX_BATCH='lots': Input should be a valid integer",
        ),
        (
            {"GATEWAY_MAX_BATCH": "0"},
            "GATEWAY_MAX_BATCH='0': Input should be greater than or equal",
        ),
        ({"GATEWAY_MAX_HORIZON": "500"}, "GATEWAY_MAX_HORIZON='500': Input should be less than"),
        ({"GATEWAY_WORKER_CLASS": "sync"}, "GATEWAY_WORKER_CLASS='sync'"),
        ({"TFS_REST_URL": "tfserving:8501"}, "TFS_REST_URL='tfserving:8501': expected http://"),
        ({"TFS_TLS_CA": "/ca.pem", "TFS_TLS_CERT": "/c.pem"}, "TFS_TLS_CERT and TFS_TLS_KEY go"),
    ],
)
def test_a_bad_value_stops_the_start_naming_the_variable(env, message):
    with pytest.raises(SettingsError, match=message):
        GatewaySettings.from_env(env)


def test_lists_are_comma_separated():
    settings = GatewaySettings.from_env({"GATEWAY_MODELS": "sum_regressor, forecaster"})
    assert settings.models == ("sum_regressor", "forecaster")


def test_a_misspelt_setting_in_code_is_refused_not_ignored():
    with pytest.raises(ValidationError, match="tfs_host"):
        GatewaySettings(tfs_host="127.0.0.1")
