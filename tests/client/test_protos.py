"""client.protos must give the TF Serving API without loading the TensorFlow runtime."""

import json
import subprocess
import sys

from loadtest.processes import REPO

PROBE = """
import json, re, sys, time
started = time.perf_counter()
from client import grpc_client, protos
request = protos.predict_pb2.PredictRequest()
request.model_spec.name = "m"
request.inputs["x"].float_val.append(1.0)
import tensorflow
try:
    tensorflow.constant
    hint = None
except AttributeError as error:
    hint = str(error)
print(json.dumps({
    "runtime": sorted(m for m in sys.modules if m.startswith(("tensorflow.python", "keras"))),
    "seconds": time.perf_counter() - started,
    "peak_rss_mb": int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read())[1]) / 1024,
    "round_trip": type(request).FromString(request.SerializeToString()) == request,
    "hint": hint,
}))
"""


def probe() -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def test_protos_load_without_the_tensorflow_runtime():
    facts = probe()
    assert facts["runtime"] == []
    assert facts["round_trip"]
    assert facts["peak_rss_mb"] < 150


def test_reaching_for_the_runtime_says_what_to_do():
    assert "import tensorflow before client.protos" in probe()["hint"]
