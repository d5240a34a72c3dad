import numpy as np
import pytest
import tensorflow as tf

from contract.models import SUM_REGRESSOR
from loadtest.plain_graph import XLA_ATTRIBUTE, strip_xla
from training.export import export_version
from training.sum_regressor import FORGET_BIAS, SumServing, build_model
from training.trained import TrainedModel

pytestmark = pytest.mark.integration


def marked(version):
    functions = tf.saved_model.load(str(version)).signatures["serving_default"]
    library = functions.graph.as_graph_def().library
    return [f.signature.name for f in library.function if f.attr[XLA_ATTRIBUTE].b]


def test_the_twin_runs_without_xla_and_answers_alike(tmp_path):
    module = SumServing(build_model(4, FORGET_BIAS), jit_compile=True)
    sequences = np.random.default_rng(1).integers(0, 2, (3, 64)).astype(np.float32)
    trained = TrainedModel(
        contract=SUM_REGRESSOR,
        module=module,
        signatures={"serving_default": module.count},
        warmup_requests=[("serving_default", {"sequences": sequences})],
        report={"metrics": {}},
    )
    version = export_version(trained, tmp_path / "xla")
    twin = strip_xla(version, tmp_path / "plain" / "1")
    assert marked(version) and not marked(twin)
    assert (twin / "variables").is_dir() and (twin / "assets.extra").is_dir()
    answers = [
        tf.saved_model.load(str(path)).signatures["serving_default"](
            sequences=tf.constant(sequences)
        )["sum"]
        for path in (version, twin)
    ]
    np.testing.assert_allclose(answers[0], answers[1], rtol=1e-4, atol=1e-5)
