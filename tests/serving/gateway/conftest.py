"""Route-test fixtures: the real Flask app with a fake backend."""

from __future__ import annotations

import pytest

from serving.gateway.app import create_app
from serving.gateway.settings import GatewaySettings
from tests.serving.gateway.fakes import FakeBackend


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
def settings() -> GatewaySettings:
    return GatewaySettings(max_batch=4, max_body_bytes=64 * 1024, max_series_length=100)


@pytest.fixture
def client(settings, backend):
    return create_app(settings, backend).test_client()
