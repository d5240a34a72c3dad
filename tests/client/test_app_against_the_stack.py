"""An application outside the repository, using only the installed wheel and what docs/clients.md
documents, against `make run`'s own processes (`python -m serving.stack`, API keys on): every
misuse raises the library's own exception naming the field before anything is sent; sync,
futures and asyncio give identical answers; the gateway client does the same tasks with an
API key; and the same app type-checks with mypy."""

from __future__ import annotations

import json

from serving.processes import free_port
from tests.conftest import STACK_API_KEY
from tests.support.installed import mypy, run_isolated

APP = """\
from __future__ import annotations

import asyncio
import json
import sys

import numpy as np

from seqserve.client.aio_client import AsyncServingClient
from seqserve.client.errors import InvalidInput
from seqserve.client.grpc_client import ServingClient
from seqserve.client.http_client import GatewayClient

grpc_address, gateway_url, api_key, dead_address = sys.argv[1:5]
report: dict[str, object] = {}

# Misuse, against an address where nothing listens: were anything sent, the error would be
# Unavailable, not InvalidInput.
MISUSES = {
    "rgb image": lambda c: c.digits(np.zeros((1, 28, 28, 3))),
    "nan image": lambda c: c.digits(np.full((28, 28), np.nan)),
    "inf image": lambda c: c.digits(np.full((28, 28), np.inf)),
    "huge image": lambda c: c.digits(np.full((28, 28), 1e6)),
    "uint8 image": lambda c: c.digits(np.full((28, 28), 255, np.uint8)),
    "bits as a string": lambda c: c.sums(["0101"]),
    "not bits": lambda c: c.sums([[2, 5, 1]]),
    "minus one in a sequence": lambda c: c.sums([[1, -1, 0]]),
    "a sequence over 64": lambda c: c.sums([[1] * 65]),
    "no sequences": lambda c: c.sums([]),
    "no series": lambda c: c.forecast([], 5),
    "fractional horizon": lambda c: c.forecast([[0.0] * 20], 2.5),
    "version and label": lambda c: c.sums([[1]], version=1, label="stable"),
}
refused = {}
with ServingClient(dead_address, timeout=2, retries=0) as nowhere:
    for name, misuse in MISUSES.items():
        try:
            misuse(nowhere)
            refused[name] = "accepted"
        except InvalidInput as error:
            refused[name] = error.details
report["refused"] = refused

sequences = [[0, 1, 1], [1, 0] * 20]
images = np.stack([np.linspace(0, 1, 784).reshape(28, 28), np.eye(28)])
series = [[float(np.sin(t * 0.3)) for t in range(30)]]
with ServingClient(grpc_address, timeout=30) as serving:
    sync = serving.sums(sequences), serving.digits(images), serving.forecast(series, 5)
    window = {"window": np.zeros((1, 20), np.float32)}
    futures = [serving.predict_async("forecaster", window) for _ in range(4)]
    from_futures = [future.result(30).outputs["next"].tolist() for future in futures]
    from_sync = serving.predict("forecaster", window).outputs["next"].tolist()


async def with_asyncio():
    async with AsyncServingClient(grpc_address, timeout=30) as serving:
        return await asyncio.gather(
            serving.sums(sequences), serving.digits(images), serving.forecast(series, 5)
        )


asynchronous = asyncio.run(with_asyncio())
with GatewayClient(gateway_url, api_key=api_key, timeout=30) as gateway:
    through_gateway = gateway.sums(sequences), gateway.digits(images), gateway.forecast(series, 5)

report["sync equals asyncio"] = (
    np.array_equal(sync[0].sums, asynchronous[0].sums)
    and np.array_equal(sync[1].probabilities, asynchronous[1].probabilities)
    and np.array_equal(sync[2].forecasts, asynchronous[2].forecasts)
)
report["futures equal sync"] = all(answer == from_sync for answer in from_futures)
report["gateway equals grpc"] = (
    np.allclose(sync[0].sums, through_gateway[0].sums, atol=1e-5)
    and np.array_equal(sync[1].digits, through_gateway[1].digits)
    and np.allclose(sync[2].forecasts, through_gateway[2].forecasts, atol=1e-5)
)
report["versions"] = [answer.version for answer in (*sync, *through_gateway)]
print(json.dumps(report))
"""


def test_the_app_against_make_runs_processes(site, stack, tmp_path):
    (tmp_path / "app.py").write_text(APP)
    result = run_isolated(
        site,
        tmp_path,
        "app.py",
        f"127.0.0.1:{stack.grpc_port}",
        stack.url,
        STACK_API_KEY,
        f"127.0.0.1:{free_port()}",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    not_refused = {name: what for name, what in report["refused"].items() if what == "accepted"}
    assert not_refused == {}
    assert report["refused"]["not bits"] == "sequences[0][0]: expected 0 or 1, got 2"
    assert report["refused"]["fractional horizon"] == "horizon: expected an integer, got 2.5"
    assert report["sync equals asyncio"] and report["futures equal sync"]
    assert report["gateway equals grpc"]
    assert report["versions"] == [1] * 6


def test_the_app_type_checks(site, tmp_path):
    result = mypy(site, tmp_path, APP)
    assert result.returncode == 0, result.stdout
