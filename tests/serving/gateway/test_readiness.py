"""Readiness that one slow replica cannot break: /readyz asks every replica for every model at
once, within one budget well inside a probe's timeout; and clients of replicas that are no
longer named (a rolling update) are closed."""

from __future__ import annotations

import threading
import time

import pytest

from client import targets
from client.errors import ClientClosed
from serving.gateway import errors, ops
from serving.gateway.app import create_app
from serving.gateway.backend import Backend
from serving.gateway.settings import GatewaySettings
from tests.serving.gateway.fakes import FakeBackend

SLOW = "10.0.0.9:8500"


class OneSlowReplica(FakeBackend):
    """Replica SLOW answers no status call: each waits out its timeout, then times out."""

    def __init__(self):
        super().__init__()
        self.replica_addresses = ["10.0.0.1:8500", SLOW, "10.0.0.2:8500"]
        self.timeouts: list[float] = []

    def status(self, model, timeout=None, replica=None):
        self.timeouts.append(timeout)
        if replica == SLOW:
            threading.Event().wait(timeout)
            raise errors.BackendTimeout("model server: deadline exceeded")
        return super().status(model, timeout, replica)


def test_a_replica_that_never_answers_costs_one_budget_not_one_per_model():
    backend = OneSlowReplica()
    client = create_app(GatewaySettings(), backend).test_client()
    started = time.monotonic()
    response = client.get("/readyz")
    took = time.monotonic() - started
    assert (response.status_code, response.json["ready"]) == (200, True)
    assert response.json["replicas"][SLOW]["ready"] is False
    assert set(response.json["replicas"][SLOW]["models"].values()) == {
        "model server: deadline exceeded"
    }
    assert all(0 < timeout <= ops.READY_BUDGET_S for timeout in backend.timeouts)
    # asked one after another, the slow replica alone would take 3 × the budget
    assert took < 2 * ops.READY_BUDGET_S, took


def test_clients_of_replicas_no_longer_named_are_closed(monkeypatch):
    backend = Backend(GatewaySettings(tfs_target="127.0.0.1:1,127.0.0.1:2"))
    listed = ["127.0.0.1:1", "127.0.0.1:2"]
    monkeypatch.setattr(targets, "replicas", lambda target: list(listed))
    first, second = (backend._replica_client(address) for address in backend.replicas())
    listed[:] = ["127.0.0.1:2", "127.0.0.1:3"]
    assert backend.replicas() == ["127.0.0.1:2", "127.0.0.1:3"]
    assert set(backend._replica_clients) == {"127.0.0.1:2"}
    with pytest.raises(ClientClosed):
        first.status("sum_regressor", timeout=1)
    assert backend._replica_client("127.0.0.1:2") is second
    backend.client.close()
    second.close()
