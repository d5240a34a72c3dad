from __future__ import annotations

import pytest

from serving.processes import StackProcess


@pytest.fixture(scope="session")
def docs_stack(tmp_path_factory):
    """`python -m serving.stack` with its defaults, as `make run` ends with: the models that ship
    in models/, no API keys; only its ports are the test's own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("GATEWAY_API_KEYS", raising=False)
        running = StackProcess(None, tmp_path_factory.mktemp("docs-stack"))
    running.wait_ready(timeout=300)
    yield running
    running.stop()
