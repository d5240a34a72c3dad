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
from tests.support.waiting import wait_until

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


class BlockingBackend(FakeBackend):
    """Each prediction says it has started, then waits until the test lets it go."""

    def __init__(self):
        super().__init__()
        self.started = threading.Semaphore(0)
        self.release = threading.Event()

    def predict(self, *args, **kwargs):
        self.started.release()
        assert self.release.wait(30)
        return super().predict(*args, **kwargs)


def in_thread(app, **post) -> threading.Thread:
    thread = threading.Thread(target=lambda: app.test_client().post("/v1/sum", **post))
    thread.start()
    return thread


def test_requests_queue_for_a_slot_instead_of_being_shed():
    """A closed loop larger than the in-flight bound waits its turn: every answer is 200."""
    backend = BlockingBackend()
    app = create_app(GatewaySettings(max_in_flight=2, deadline_s=30), backend)
    statuses = []

    def client():
        for _ in range(3):
            statuses.append(app.test_client().post("/v1/sum", json=SUM).status_code)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    state = app.extensions["gateway"]
    wait_until(lambda: len(state.admission._waiters) == 6, what="six requests queued")
    backend.release.set()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 24


def test_a_wait_that_outlasts_the_deadline_gets_429_with_retry_after():
    backend = BlockingBackend()
    app = create_app(GatewaySettings(max_in_flight=1, deadline_s=0.15), backend)
    first = in_thread(app, json=SUM)
    assert backend.started.acquire(timeout=30)
    response = app.test_client().post("/v1/sum", json=SUM)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.json["error"]["code"] == "resource_exhausted"
    assert "no slot freed within the deadline" in response.json["error"]["message"]
    backend.release.set()
    first.join()
    assert app.test_client().post("/v1/sum", json=SUM).status_code == 200


def test_the_model_server_call_gets_what_the_deadline_leaves():
    """One deadline per request: the backend call's timeout is what is left of
    GATEWAY_DEADLINE_S, or of a shorter `grpc-timeout` the client sends."""
    backend = FakeBackend()
    client = create_app(GatewaySettings(deadline_s=5), backend).test_client()
    assert client.post("/v1/sum", json=SUM).status_code == 200
    assert 4 < backend.calls[-1]["timeout"] <= 5
    for header, most in (("500m", 0.5), ("2S", 2), ("1H", 5), ("300000u", 0.3)):
        response = client.post("/v1/sum", json=SUM, headers={"grpc-timeout": header})
        assert response.status_code == 200
        assert 0 < backend.calls[-1]["timeout"] <= most, header


@pytest.mark.parametrize("header", ["5", "1.5S", "123456789S", "10s", "-1S", "S"])
def test_a_malformed_grpc_timeout_is_400_naming_the_header(header):
    client = create_app(GatewaySettings(), FakeBackend()).test_client()
    response = client.post("/v1/sum", json=SUM, headers={"grpc-timeout": header})
    assert response.status_code == 400
    assert response.json["error"]["message"].startswith("grpc-timeout: expected")


def test_a_deadline_spent_in_the_queue_is_not_given_again_to_the_backend():
    backend = BlockingBackend()
    app = create_app(GatewaySettings(max_in_flight=1, deadline_s=30), backend)
    first = in_thread(app, json=SUM)
    assert backend.started.acquire(timeout=30)
    second = in_thread(app, json=SUM, headers={"grpc-timeout": "20S"})
    state = app.extensions["gateway"]
    wait_until(lambda: len(state.admission._waiters) == 1, what="second request queued")
    queued_at = time.monotonic()
    wait_until(lambda: time.monotonic() - queued_at > 0.2, what="0.2 s spent queued")
    backend.release.set()
    first.join()
    second.join()
    assert backend.calls[-1]["timeout"] <= 20 - 0.2


def test_health_is_not_held_back_by_overload():
    backend = BlockingBackend()
    app = create_app(GatewaySettings(max_in_flight=1, deadline_s=30), backend)
    first = in_thread(app, json=SUM)
    assert backend.started.acquire(timeout=30)
    assert app.test_client().get("/healthz").status_code == 200
    backend.release.set()
    first.join()


def test_backend_errors_still_release_the_slot(backend):
    app = create_app(GatewaySettings(max_in_flight=1, deadline_s=0.05), backend)
    backend.failure = errors.BackendUnavailable("down")
    for _ in range(3):
        assert app.test_client().post("/v1/sum", json=SUM).status_code == 503


def keyed_app(backend, **settings):
    keys = parse_keys(
        f"{digest_of('all-key')},{digest_of('ops-key')}:ops,{digest_of('sum-key')}:sum"
    )
    return create_app(GatewaySettings(api_keys=keys, **settings), backend).test_client()


def test_readiness_detail_is_for_ops_keys_only(backend):
    """Replica addresses and model states are the operator's: a caller without an `ops` key
    gets the status code and {"ready": ...}, nothing more."""
    backend.replica_addresses = ["10.0.0.1:8500"]
    client = keyed_app(backend)
    for headers in ({}, {"X-API-Key": "sum-key"}, {"X-API-Key": "wrong"}):
        response = client.get("/readyz", headers=headers)
        assert (response.status_code, response.json) == (200, {"ready": True})
    for key in ("ops-key", "all-key"):
        detailed = client.get("/readyz", headers={"X-API-Key": key}).json
        assert detailed["replicas"]["10.0.0.1:8500"]["ready"] is True
        assert set(detailed["models"]) == {"sum_regressor", "digit_classifier", "forecaster"}


def test_operations_routes_are_public_until_the_operator_closes_them(backend):
    open_client = keyed_app(backend)
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"):
        assert open_client.get(path).status_code == 200, path
    closed = keyed_app(backend, public_routes=("/healthz",))
    assert closed.get("/healthz").status_code == 200
    for path in ("/readyz", "/metrics", "/openapi.json", "/docs"):
        assert closed.get(path).status_code == 401, path
        assert closed.get(path, headers={"X-API-Key": "sum-key"}).status_code == 403, path
        assert closed.get(path, headers={"X-API-Key": "ops-key"}).status_code == 200, path


def test_public_routes_are_checked_at_start():
    with pytest.raises(SettingsError, match=r"GATEWAY_PUBLIC_ROUTES: unknown route '/v1/sum'"):
        GatewaySettings.from_env({"GATEWAY_PUBLIC_ROUTES": "/healthz,/v1/sum"})
    settings = GatewaySettings.from_env({"GATEWAY_PUBLIC_ROUTES": "/healthz, /readyz"})
    assert settings.public_routes == ("/healthz", "/readyz")
