"""A TF1 (graph/session) SavedModel with tf.Example classify/regress signatures, for tests."""

from __future__ import annotations

from pathlib import Path


def export_tf1_example_model(path: Path) -> Path:
    """A TF1 (graph/session) SavedModel whose signatures parse tf.Examples with a float `x`.

    classify: classes ["pos", "neg"], scores [σ(2x+1), 1-σ(2x+1)]; regress: 2x+1;
    serving_default (predict): the same regression from the serialized examples.
    """
    import tensorflow as tf

    v1 = tf.compat.v1
    with tf.Graph().as_default():
        serialized = v1.placeholder(tf.string, [None], name="tf_example")
        x = tf.io.parse_example(serialized, {"x": tf.io.FixedLenFeature([1], tf.float32)})["x"]
        weight = v1.Variable(2.0, name="weight")
        y = x * weight + 1.0
        positive = tf.sigmoid(y)
        scores = tf.concat([positive, 1.0 - positive], axis=1)
        classes = tf.tile(tf.constant([["pos", "neg"]]), [tf.shape(x)[0], 1])
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            builder = v1.saved_model.Builder(str(path))
            signatures = v1.saved_model.signature_def_utils
            builder.add_meta_graph_and_variables(
                session,
                ["serve"],
                signature_def_map={
                    "classify": signatures.classification_signature_def(
                        serialized, classes, scores
                    ),
                    "regress": signatures.regression_signature_def(serialized, y),
                    "serving_default": signatures.predict_signature_def(
                        {"examples": serialized}, {"y": y}
                    ),
                },
            )
            builder.save()
    return path
