"""The conformance suite's test models, made here in the shapes of TF Serving's own test data
(`servables/tensorflow/testdata/saved_model_half_plus_two.py` and the folders beside it):

- `saved_model_half_plus_two_cpu`: a TF1 graph with reference variables a=0.5, b=2, c=3 that
  parses tf.Examples with a float `x` (and `x2`, default 0); signatures `serving_default`
  (predict x → y = a·x + b), `regress_x_to_y`, `regress_x_to_y2` (a·x + c), `regress_x2_to_y3`
  and `classify_x_to_y` (scores = y), and an asset file;
- `saved_model_half_plus_three`: the same with b=3, its regression under the signature key
  `tensorflow/serving/regress` (as in TF Serving's g3doc/api_rest.md example);
- `saved_model_half_plus_two_tf2_cpu`: the TF2 (tf.Module) version, whose classify/regress
  signatures have the predict method name TF2 exports give them;
- `saved_model_half_plus_two_2_versions`: the TF1 model as versions 123 and 124;
- `bad_half_plus_two`: a version folder holding only a TF1 checkpoint, no SavedModel;
- `saved_model_typed` (this suite's own): int32, string, bool and float inputs, `_bytes`
  outputs and a scalar output, for the REST JSON rules TF Serving's docs state.
Every version lives in a zero-padded folder, `00000123`.

`python -m tests.serving.conformance.models DIR` writes them, with TF Serving's config files,
for running the suite against a real tensorflow_model_server.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

VERSION = "00000123"
TF1_MODEL = "saved_model_half_plus_two_cpu"
HALF_PLUS_THREE = "saved_model_half_plus_three"
TF2_MODEL = "saved_model_half_plus_two_tf2_cpu"
TWO_VERSIONS = "saved_model_half_plus_two_2_versions"
BAD_MODEL = "bad_half_plus_two"
TYPED_MODEL = "saved_model_typed"


def write_all(root: Path) -> Path:
    """Every test model under `root`, plus TF Serving's test config files; returns `root`.
    Models already there are replaced (SavedModel's builder refuses a folder that is not empty)."""
    root.mkdir(parents=True, exist_ok=True)
    for model in (TF1_MODEL, HALF_PLUS_THREE, TF2_MODEL, TWO_VERSIONS, BAD_MODEL, TYPED_MODEL):
        shutil.rmtree(root / model, ignore_errors=True)
    export_tf1(root / TF1_MODEL / VERSION, b=2.0)
    export_tf1(root / HALF_PLUS_THREE / VERSION, b=3.0, regress_key="tensorflow/serving/regress")
    export_tf2(root / TF2_MODEL / VERSION)
    for version in ("00000123", "00000124"):
        export_tf1(root / TWO_VERSIONS / version, b=2.0)
    export_checkpoint_only(root / BAD_MODEL / VERSION)
    export_typed(root / TYPED_MODEL / VERSION)
    (root / "bad_model_config.txt").write_text("improperly formatted file")
    (root / "monitoring_config.txt").write_text(
        'prometheus_config: {\n  enable: true,\n  path: "/monitoring/prometheus/metrics"\n}\n'
    )
    (root / "batching_config.txt").write_text(
        "max_batch_size { value: 128 }\nbatch_timeout_micros { value: 0 }\n"
        "max_enqueued_batches { value: 1000000 }\nnum_batch_threads { value: 8 }\n"
    )
    return root


def export_tf1(path: Path, b: float, regress_key: str = "regress_x_to_y") -> Path:
    """A TF1 SavedModel with reference variables, built as TF Serving's generator builds it."""
    import tensorflow as tf

    v1 = tf.compat.v1
    with tf.Graph().as_default(), v1.Session() as session:
        a = v1.Variable(0.5, name="a", use_resource=False)
        b_var = v1.Variable(b, name="b", use_resource=False)
        c = v1.Variable(3.0, name="c", use_resource=False)
        serialized = v1.placeholder(tf.string, shape=[None], name="tf_example")
        features = {
            "x": v1.FixedLenFeature([1], dtype=tf.float32),
            "x2": v1.FixedLenFeature([1], dtype=tf.float32, default_value=[0.0]),
        }
        parsed = v1.parse_example(serialized, features)
        x = tf.identity(parsed["x"], name="x")
        y = tf.identity(tf.add(tf.multiply(a, x), b_var), name="y")
        y2 = tf.identity(tf.add(tf.multiply(a, x), c), name="y2")
        x2 = tf.identity(parsed["x2"], name="x2")
        a2 = v1.Variable(0.5, name="a2", use_resource=False)
        c2 = v1.Variable(3.0, name="c2", use_resource=False)
        y3 = tf.identity(tf.add(tf.multiply(a2, x2), c2), name="y3")
        assign_asset = _asset_variable(tf, v1)
        signatures = {
            "serving_default": _signature(v1, {"x": x}, {"y": y}, "predict"),
            regress_key: _signature(v1, {"inputs": serialized}, {"outputs": y}, "regress"),
        }
        if regress_key == "regress_x_to_y":
            signatures["regress_x_to_y2"] = _signature(
                v1, {"inputs": serialized}, {"outputs": y2}, "regress"
            )
            signatures["regress_x2_to_y3"] = _signature(
                v1, {"inputs": x2}, {"outputs": y3}, "regress"
            )
            signatures["classify_x_to_y"] = _signature(
                v1, {"inputs": serialized}, {"scores": y}, "classify"
            )
        session.run(v1.global_variables_initializer())
        builder = v1.saved_model.Builder(str(path))
        builder.add_meta_graph_and_variables(
            session,
            ["serve"],
            signature_def_map=signatures,
            assets_collection=v1.get_collection(v1.GraphKeys.ASSET_FILEPATHS),
            main_op=tf.group(assign_asset),
        )
        builder.save()
    return path


def _signature(v1, inputs: dict, outputs: dict, method: str):
    """A SignatureDef of tensors, as TF Serving's generator builds them (build_signature_def
    takes any dtype, unlike the regression helper)."""
    info = v1.saved_model.utils.build_tensor_info
    signature = v1.saved_model.signature_def_utils.build_signature_def(
        {key: info(tensor) for key, tensor in inputs.items()},
        {key: info(tensor) for key, tensor in outputs.items()},
        f"tensorflow/serving/{method}",
    )
    for tensor_info in signature.inputs.values():
        if tensor_info.name == "tf_example:0":  # TF Serving's copy declares no rank for it
            tensor_info.tensor_shape.Clear()
            tensor_info.tensor_shape.unknown_rank = True
    return signature


def _asset_variable(tf, v1):
    """An asset file the loader must feed, read into a variable by the main op."""
    folder = Path(tempfile.mkdtemp(prefix="half_plus_two_assets-"))
    (folder / "foo.txt").write_text("asset-file-contents")
    v1.add_to_collection(v1.GraphKeys.ASSET_FILEPATHS, tf.constant(str(folder / "foo.txt")))
    name = v1.Variable("foo.txt", name="filename_tensor", trainable=False, collections=[])
    return name.assign("foo.txt")


def export_tf2(path: Path) -> Path:
    """A TF2 tf.Module with the same signatures (input_signature shapes as TF Serving's)."""
    import tensorflow as tf

    features = {
        "x": tf.io.FixedLenFeature([1], dtype=tf.float32),
        "x2": tf.io.FixedLenFeature([1], dtype=tf.float32, default_value=[0.0]),
    }
    examples = tf.TensorSpec([None], tf.string, name="inputs")
    scalar_x = tf.TensorSpec([1], tf.float32, name="inputs")

    class HalfPlusTwo(tf.Module):
        def __init__(self):
            super().__init__()
            self.a = tf.Variable(0.5, name="a")
            self.b = tf.Variable(2.0, name="b")
            self.c = tf.Variable(3.0, name="c")

        def compute(self, x, increment):
            return tf.add(tf.multiply(self.a, x), increment)

        @tf.function(input_signature=[tf.TensorSpec([1], tf.float32)])
        def predict(self, x=tf.constant([0.0], shape=[1])):  # noqa: B008  (the signature default)
            return {"y": self.compute(x, self.b)}

        @tf.function(input_signature=[examples])
        def regress_xy(self, serialized):
            x = tf.io.parse_example(serialized, features)["x"]
            return {"outputs": self.compute(x, self.b)}

        @tf.function(input_signature=[examples])
        def regress_xy2(self, serialized):
            x = tf.io.parse_example(serialized, features)["x"]
            return {"outputs": self.compute(x, self.c)}

        @tf.function(input_signature=[scalar_x])
        def regress_x2y3(self, x2):
            return {"outputs": self.compute(x2, self.c)}

        @tf.function(input_signature=[examples])
        def classify_xy(self, serialized):
            x = tf.io.parse_example(serialized, features)["x"]
            return {"scores": self.compute(x, self.b)}

        @tf.function(input_signature=[scalar_x])
        def classify_x2y3(self, x2):
            return {"scores": self.compute(x2, self.c)}

    module = HalfPlusTwo()
    signatures = {
        "serving_default": module.predict,
        "regress_x_to_y": module.regress_xy,
        "regress_x_to_y2": module.regress_xy2,
        "regress_x2_to_y3": module.regress_x2y3,
        "classify_x_to_y": module.classify_xy,
        "classify_x2_to_y3": module.classify_x2y3,
    }
    tf.saved_model.save(module, str(path), signatures=signatures)
    return path


def export_checkpoint_only(path: Path) -> Path:
    """A version folder with a TF1 checkpoint and no SavedModel: a model that cannot load."""
    import tensorflow as tf

    v1 = tf.compat.v1
    path.mkdir(parents=True)
    with tf.Graph().as_default(), v1.Session() as session:
        v1.Variable(0.5, name="a", use_resource=False)
        session.run(v1.global_variables_initializer())
        v1.train.Saver().save(session, str(path / "export"))
    return path


def export_typed(path: Path) -> Path:
    """Inputs of several types and outputs that exercise TF Serving's JSON writer."""
    import tensorflow as tf

    class Typed(tf.Module):
        @tf.function(
            input_signature=[
                tf.TensorSpec([None], tf.int32, name="i"),
                tf.TensorSpec([None], tf.string, name="s"),
                tf.TensorSpec([None], tf.bool, name="b"),
                tf.TensorSpec([None], tf.float32, name="f"),
            ]
        )
        def echo(self, i, s, b, f):
            return {
                "i_plus_one": i + 1,
                "s_bytes": s,
                "s_text": s,
                "not_b": tf.logical_not(b),
                "f_tenth": f / 10.0,
            }

        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="f")])
        def with_scalar(self, f):
            return {"rows": f, "count": tf.size(f)}

    module = Typed()
    signatures = {"serving_default": module.echo, "with_scalar": module.with_scalar}
    tf.saved_model.save(module, str(path), signatures=signatures)
    return path


if __name__ == "__main__":
    out = write_all(Path(sys.argv[1]).resolve())
    print(f"wrote the conformance models under {out}")
