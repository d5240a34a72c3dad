"""The GPU image serves what we export: every shipped version and every `--quick` export,
loaded in the TensorFlow that the pinned TF Serving release is built on
(serving.launcher.TF_SERVING_TENSORFLOW, in a virtual environment of its own under .peers/,
made once), the way TF Serving loads them (a graph session, signatures by tensor name); each
warmup record of every signature is replayed there and the answers equal TensorFlow 2.21's.
And every place that names the image pins that release."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import yaml

from contract.layout import SHIPPED_VERSION, WARMUP_FILE
from contract.models import MODELS
from protocol.tensors import to_ndarray
from serving.launcher import TF_SERVING_RELEASE, TF_SERVING_TENSORFLOW
from serving.processes import REPO
from training.warmup import read_warmup_records

SCRIPT = REPO / "tests" / "support" / "graph_session.py"
VENV = REPO / ".peers" / f"tensorflow-{TF_SERVING_TENSORFLOW}"
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def release_python() -> str:
    """The Python of a virtual environment holding that TensorFlow alone (made once)."""
    python, stamp = VENV / "bin" / "python", VENV / ".installed"
    if not stamp.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                f"tensorflow-cpu=={TF_SERVING_TENSORFLOW}",
            ],
            check=True,
        )
        stamp.touch()
    return str(python)


def replay(python: str, versions, workdir) -> dict[str, np.ndarray]:
    """Every warmup record of every version, run by graph_session.py under `python`."""
    jobs, inputs = [], {}
    for version in versions:
        for log in read_warmup_records(version / "assets.extra" / WARMUP_FILE):
            request = log.predict_log.request
            for alias, proto in request.inputs.items():
                inputs[f"{len(jobs)}:{alias}"] = to_ndarray(proto)
            jobs.append({"version": str(version), "signature": request.model_spec.signature_name})
    (workdir / "jobs.json").write_text(json.dumps(jobs))
    np.savez(workdir / "inputs.npz", **inputs)
    answers = workdir / f"answers-{len(list(workdir.iterdir()))}.npz"
    files = [workdir / "jobs.json", workdir / "inputs.npz", answers]
    subprocess.run([python, str(SCRIPT), *map(str, files)], check=True, capture_output=True)
    with np.load(answers) as loaded:
        return {key: loaded[key] for key in loaded.files}


def test_every_export_loads_and_answers_alike_in_the_release_tensorflow(
    release_python, models_dir, tmp_path
):
    versions = [REPO / "models" / name / str(SHIPPED_VERSION) for name in MODELS]
    versions += [models_dir / name / "1" for name in MODELS]
    release = replay(release_python, versions, tmp_path)
    ours = replay(sys.executable, versions, tmp_path)
    assert str(release.pop("tensorflow")) == TF_SERVING_TENSORFLOW
    ours.pop("tensorflow")
    assert release.keys() == ours.keys() and len(ours) >= 2 * 2 * len(versions)
    for key, value in ours.items():
        np.testing.assert_allclose(release[key], value, rtol=1e-5, atol=1e-5, err_msg=key)


def test_the_images_pin_the_release():
    overlay = yaml.safe_load(
        (REPO / "deploy/k8s/overlays/tfserving-gpu/kustomization.yaml").read_text()
    )
    assert overlay["images"] == [
        {"name": "tensorflow/serving", "newTag": f"{TF_SERVING_RELEASE}-gpu"}
    ]
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert (
        compose["services"]["tfserving"]["image"] == f"tensorflow/serving:{TF_SERVING_RELEASE}-gpu"
    )
