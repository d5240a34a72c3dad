"""API keys (hashed, scoped, constant-time) and the in-flight bound (429, not unbounded waits)."""

from __future__ import annotations

import threading
import time

import pytest

from serving.environment import SettingsError
from serving.gateway import errors
from serving.gateway.app import create_app
from serving.gateway.auth import digest_of, main, parse_keys
from serving.gateway.settings import GatewaySettings
from tests.serving.gateway.fakes import FakeBackend

SUM = {"sequences": [[1, 0, 1]]}


@pytest.fixture
def keyed(backend):
    keys = parse_keys(f"{digest_of('all-key')},{digest_of('sum-key')}:sum|models")
    return create_app(GatewaySettings(api_keys=keys), backend).test_client()


def test_without_a_key_is_401_with_a_challenge(keyed):
    response = keyed.post("/v1/sum", json=SUM)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthenticated"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_key_is_401(keyed):
    response = keyed.post("/v1/sum", json=SUM, headers={"X-API-Key": "guess"})
    assert (response.status_code, response.json["error"]["message"]) == (401, "unknown API key")


def test_keys_work_as_bearer_or_header(keyed):
    assert (
        keyed.post("/v1/sum", json=SUM, headers={"Authorization": "Bearer all-key"}).status_code
        == 200
    )
    assert keyed.post("/v1/sum", json=SUM, headers={"X-API-Key": "sum-key"}).status_code == 200


def test_a_key_outside_its_scopes_is_403(keyed):
    body = {"series": [[0.0] * 20], "horizon": 2}
    response = keyed.post("/v1/forecast", json=body, headers={"X-API-Key": "sum-key"})
    assert response.status_code == 403
    assert response.json == {
        "error": {
            "code": "permission_denied",
            "message": "this API key may not call the 'forecast' routes",
        }
    }
    assert keyed.get("/v1/models", headers={"X-API-Key": "sum-key"}).status_code == 200


def test_health_and_docs_stay_open(keyed):
    for path in ("/healthz", "/openapi.json", "/docs", "/metrics"):
        assert keyed.get(path).status_code == 200, path


def test_keys_are_never_logged(keyed, caplog):
    caplog.set_level("INFO", logger="seqserve.gateway")
    keyed.post("/v1/sum", json=SUM, headers={"Authorization": "Bearer all-key"})
    keyed.post("/v1/sum", json=SUM, headers={"X-API-Key": "wrong-secret"})
    assert caplog.records
    assert not any(
        "all-key" in str(vars(r)) or "wrong-secret" in str(vars(r)) for r in caplog.records
    )


def test_model_management_is_not_exposed(keyed):
    """The gateway has no management route; what it forwards under /v1/models/ reaches TF
    Serving's REST API, which has none either (its "Malformed request" is in the conformance
    suite)."""
    for path in ("/v1/config", "/v1/models:reload", "/v1/reload"):
        response = keyed.post(path, json={}, headers={"X-API-Key": "all-key"})
        assert response.status_code in (404, 405), path


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("abc", "GATEWAY_API_KEYS entry 0: expected a SHA-256 hex digest"),
        (f"{'0' * 64}:sum|admin", "GATEWAY_API_KEYS entry 0: unknown scope 'admin'"),
    ],
)
def test_bad_key_settings_stop_the_start(raw, message):
    with pytest.raises(SettingsError, match=message):
        GatewaySettings.from_env({"GATEWAY_API_KEYS": raw})


def test_the_key_helper_prints_a_key_and_its_digest(capsys):
    main(["--scopes", "sum|digits"])
    lines = capsys.readouterr().out.splitlines()
    key, entry = lines[0].split()[-1], lines[1].split()[-1]
    assert entry == f"{digest_of(key)}:sum|digits"
    assert key not in entry


class SlowBackend(FakeBackend):
    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds

    def predict(self, *args, **kwargs):
        time.sleep(self.seconds)
        return super().predict(*args, **kwargs)


def test_requests_queue_for_a_slot_instead_of_being_shed():
    """A closed loop larger than the in-flight bound waits its turn: every answer is 200."""
    app = create_app(GatewaySettings(max_in_flight=2, deadline_s=5), SlowBackend(0.05))
    statuses = []

    def client():
        for _ in range(3):
            statuses.append(app.test_client().post("/v1/sum", json=SUM).status_code)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 24


def test_a_wait_past_the_deadline_gets_429_and_a_hopeless_one_at_once():
    settings = GatewaySettings(max_in_flight=1, deadline_s=0.15)
    app = create_app(settings, SlowBackend(1.0))

    def busy():
        return threading.Thread(target=lambda: app.test_client().post("/v1/sum", json=SUM))

    first = busy()
    first.start()
    time.sleep(0.1)
    started = time.monotonic()
    response = app.test_client().post("/v1/sum", json=SUM)
    waited = time.monotonic() - started
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.json["error"]["code"] == "resource_exhausted"
    assert 0.1 < waited < 0.5
    first.join()
    second = busy()
    second.start()
    time.sleep(0.1)
    started = time.monotonic()
    response = app.test_client().post("/v1/sum", json=SUM)
    assert response.status_code == 429 and "expected wait" in response.json["error"]["message"]
    assert time.monotonic() - started < 0.1
    second.join()
    assert app.test_client().post("/v1/sum", json=SUM).status_code == 200


def test_health_is_not_held_back_by_overload():
    app = create_app(GatewaySettings(max_in_flight=1, deadline_s=0.1), SlowBackend(1.0))
    first = threading.Thread(target=lambda: app.test_client().post("/v1/sum", json=SUM))
    first.start()
    time.sleep(0.2)
    assert app.test_client().get("/healthz").status_code == 200
    first.join()


def test_backend_errors_still_release_the_slot(backend):
    app = create_app(GatewaySettings(max_in_flight=1, deadline_s=0.05), backend)
    backend.failure = errors.BackendUnavailable("down")
    for _ in range(3):
        assert app.test_client().post("/v1/sum", json=SUM).status_code == 503
