"""digit_classifier: an LSTM that reads a 28×28 MNIST image as 28 rows of 28 pixels.

The network emits class logits after every row; the last row's are the prediction, and the
`per_row` signature exposes all 28 to show how the prediction forms while the LSTM reads.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from contract.models import CLASSES, DIGIT_CLASSIFIER, SIDE
from training.augment import Distortion, distort
from training.data.mnist import load_mnist
from training.lstm_cell import recurrent_layer
from training.report import Stopwatch, plot_learning_curves, save_figure, training_report
from training.settings import TrainSettings
from training.signatures import input_specs
from training.targets import DIGIT_TEST_ACCURACY
from training.trained import TrainedModel

NAME = DIGIT_CLASSIFIER.name
ROWS = COLS = SIDE
DISTORTION = Distortion(degrees=10.0, scale=0.1, pixels=2.0)
USES_XLA = True
"""XLA halves the step time on a CPU; it rules out TensorFlow's op-determinism mode."""
EMA_MOMENTUM = 0.999
"""The exported weights are this moving average of the trained ones (Keras swaps them in at the
end of `fit`): smoother than the last step's. Quick runs are too short for an average to forget
the initial weights, so they keep the last step's."""
FIT_VALIDATION = True
"""Full runs fit the validation images too (60,000 in all), as MNIST results are usually
reported: the recipe was chosen on validation in earlier runs, and the test split is still
evaluated once, at the end. Quick runs keep validation held out to exercise that path."""
QUICK_TRAIN_IMAGES = 6000
(IMAGES_SPEC,) = input_specs(DIGIT_CLASSIFIER)


def build_row_model(cell: str, units: int, layers: int) -> keras.Model:
    """images (batch, 28, 28) → class logits after each row (batch, 28, 10)."""
    images = keras.Input((ROWS, COLS), name="images")
    hidden = images
    for index in range(layers):
        hidden = recurrent_layer(cell, units, return_sequences=True, name=f"lstm_{index}")(hidden)
    logits = keras.layers.Dense(CLASSES, name="logits")(hidden)
    return keras.Model(images, logits, name=NAME)


class DigitServing(tf.Module):
    """The exported signatures, compiled with XLA unless `jit_compile` is False."""

    def __init__(self, row_model: keras.Model, jit_compile: bool = True):
        super().__init__()
        self.row_model = row_model
        compiled = {"input_signature": [IMAGES_SPEC], "jit_compile": jit_compile}
        self.classify = tf.function(self._classify, **compiled)
        self.per_row = tf.function(self._per_row, **compiled)

    def _classify(self, images):
        probabilities = tf.nn.softmax(self.row_model(images, training=False)[:, -1])
        return {"probabilities": probabilities, "classes": tf.argmax(probabilities, axis=-1)}

    def _per_row(self, images):
        return {"row_probabilities": tf.nn.softmax(self.row_model(images, training=False))}


def train(settings: TrainSettings) -> TrainedModel:
    """Train on MNIST train (and validation, in full runs), evaluate once on the test split."""
    mnist = load_mnist(settings.data_dir, settings.mnist_path)
    (x_train, y_train), (x_val, y_val) = mnist.train, mnist.validation
    fit_validation = FIT_VALIDATION and not settings.quick
    if settings.quick:
        x_train, y_train = x_train[:QUICK_TRAIN_IMAGES], y_train[:QUICK_TRAIN_IMAGES]
        x_val, y_val = x_val[:1000], y_val[:1000]
    if fit_validation:
        x_train, y_train = np.concatenate([x_train, x_val]), np.concatenate([y_train, y_val])
    hyper = {
        "cell": settings.cell,
        "units": settings.pick("units", full=128, quick=48),
        "epochs": settings.pick("epochs", full=20, quick=3),
        "batch_size": settings.pick("batch_size", full=128, quick=64),
        "layers": 1 if settings.quick else 2,
        "learning_rate": 2e-3,
        "clipnorm": 1.0,
        "distortion": DISTORTION.as_dict(),
        "weight_average_momentum": None if settings.quick else EMA_MOMENTUM,
        "fits_validation": fit_validation,
        "seed": settings.seed,
    }
    steps = hyper["epochs"] * int(np.ceil(len(x_train) / hyper["batch_size"]))
    row_model = build_row_model(settings.cell, hyper["units"], hyper["layers"])
    last_row = keras.Model(row_model.input, row_model.output[:, -1])
    last_row.compile(
        optimizer=keras.optimizers.Adam(
            keras.optimizers.schedules.CosineDecay(hyper["learning_rate"], steps),
            clipnorm=hyper["clipnorm"],
            use_ema=not settings.quick,
            ema_momentum=EMA_MOMENTUM,
        ),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=True,
    )
    with Stopwatch() as fit:
        history = last_row.fit(
            _distorted_batches(x_train, y_train, hyper["batch_size"], settings.seed),
            validation_data=None if fit_validation else (x_val, y_val),
            epochs=hyper["epochs"],
            shuffle=False,
            verbose=1 if settings.progress else 0,
        ).history

    serving = DigitServing(row_model, settings.jit_compile)
    x_test, y_test = mnist.test
    predicted = _predict_classes(serving, x_test)
    confusion = np.zeros((CLASSES, CLASSES), dtype=np.int64)
    np.add.at(confusion, (y_test, predicted), 1)
    metrics = {
        "test_accuracy": float(np.mean(predicted == y_test)),
        "test_images": len(y_test),
        "validation_accuracy": None if fit_validation else float(history["val_accuracy"][-1]),
        "target_test_accuracy": DIGIT_TEST_ACCURACY,
    }
    data = {"source": mnist.source, "sha256": mnist.sha256, "train_images": len(x_train)}
    report = training_report(
        NAME, metrics, fit, data, hyper, history, confusion_matrix=confusion.tolist()
    )
    return TrainedModel(
        contract=DIGIT_CLASSIFIER,
        module=serving,
        signatures={"serving_default": serving.classify, "per_row": serving.per_row},
        warmup_requests=[
            (signature, {"images": x_test[:batch]})
            for signature in ("serving_default", "per_row")
            for batch in settings.warmup_batch_sizes
        ],
        report=report,
        plots={
            "learning_curves.png": plot_learning_curves(history, NAME),
            "confusion_matrix.png": _plot_confusion(confusion),
        },
    )


def _distorted_batches(images, labels, batch_size: int, seed: int) -> tf.data.Dataset:
    """Shuffled training batches, each image randomly rotated, zoomed and moved a little."""
    return (
        tf.data.Dataset.from_tensor_slices((images, labels))
        .shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
        .enumerate()
        .map(
            lambda index, batch: (
                distort(batch[0], tf.stack([seed, index]), DISTORTION),
                batch[1],
            )
        )
        .prefetch(tf.data.AUTOTUNE)
    )


def _predict_classes(serving: DigitServing, images: np.ndarray, batch: int = 1000) -> np.ndarray:
    chunks = [
        serving.classify(images[i : i + batch])["classes"] for i in range(0, len(images), batch)
    ]
    return np.concatenate([c.numpy() for c in chunks])


def _plot_confusion(confusion: np.ndarray):
    def draw(path):
        import matplotlib.pyplot as plt

        fig, axis = plt.subplots(figsize=(6, 5))
        image = axis.imshow(np.log1p(confusion), cmap="Blues")
        for (row, col), count in np.ndenumerate(confusion):
            axis.text(col, row, count, ha="center", va="center", fontsize=7)
        axis.set(xlabel="predicted", ylabel="true", xticks=range(10), yticks=range(10))
        axis.set_title("digit_classifier: test confusion matrix")
        fig.colorbar(image, label="log(1 + count)")
        save_figure(fig, path)

    return draw
