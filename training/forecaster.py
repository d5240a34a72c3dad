"""forecaster: an LSTM that maps a window of 20 values to the next 20 (shifted by one).

The `forecast` signature runs the autoregressive loop inside the graph: each prediction is fed
back as the next input, `horizon` times, so one request gets a whole forecast. Training uses the
same loop over a fixed rollout so the model learns to keep its own errors from compounding.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from contract.models import FORECASTER, MAX_HORIZON, WINDOW
from training.data.series import RESOLUTION, T_MAX, T_MIN, inside_range, random_windows, series
from training.report import (
    Stopwatch,
    arrays_sha256,
    generated_data,
    plot_learning_curves,
    save_figure,
    training_report,
)
from training.settings import TrainSettings
from training.signatures import input_specs
from training.targets import FORECAST_MSE, FORECAST_REPORTED_HORIZONS
from training.trained import TrainedModel

NAME = FORECASTER.name
SCALE = 10.0
"""Values are divided by this inside the model; the series stays within about ±12."""
LAGS = 8
"""Recent values the cell and the linear path see at each step (the series needs 6)."""
LOSS_FROM_STEP = LAGS - 1
"""Earlier outputs see zeros before the window's start among their lags, so cannot be exact; the
one-step loss starts at the first output that sees LAGS real values."""
ONE_STEP_WEIGHT = 50.0
"""The rollout's error grows with the horizon and would otherwise drown the one-step term."""
EVAL_WINDOWS = 1000
WINDOW_SPEC, HORIZON_SPEC = input_specs(FORECASTER, "forecast")


class Forecaster(keras.Model):
    """An LSTM cell with a linear autoregressive path, unrolled over the window, then fed back.

    At each step the cell sees the last `LAGS` values, and the head reads both the cell's output
    and those values. The series obeys a linear recurrence of order 6, so the linear path can
    carry the bulk of the prediction and the LSTM learns what it misses.
    """

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.cell = keras.layers.LSTMCell(units, name="cell")
        self.rnn = keras.layers.RNN(self.cell, return_sequences=True, return_state=True)
        self.head = keras.layers.Dense(1, name="head")

    def next_values(self, window):
        """window (batch, 20) → the following values (batch, 20), the final state and lags."""
        lags = _lags(window / SCALE)
        outputs, h, c = self.rnn(lags)
        following = self.head(tf.concat([outputs, lags], axis=-1))[..., 0]
        return following * SCALE, (h, c), lags[:, -1]

    def forecast(self, window, steps, capacity=None):
        """window (batch, 20) → the next `steps` values (batch, steps), autoregressively.

        With `capacity`, the result is (batch, capacity), zero after `steps`: a fixed shape, so
        XLA compiles it once for any `steps` (it would compile again for each size)."""
        following, (h, c), lags = self.next_values(window)
        value = following[:, -1]
        values = tf.TensorArray(tf.float32, size=capacity or steps).write(0, value)

        def step(k, value, h, c, lags, values):
            lags = tf.concat([value[:, None] / SCALE, lags[:, :-1]], axis=-1)
            output, (h, c) = self.cell(lags, [h, c])
            value = self.head(tf.concat([output, lags], axis=-1))[:, 0] * SCALE
            return k + 1, value, h, c, lags, values.write(k, value)

        *_, values = tf.while_loop(
            lambda k, *_: k < steps, step, (tf.constant(1), value, h, c, lags, values)
        )
        return tf.transpose(values.stack())


def _lags(values):
    """(batch, time) → (batch, time, LAGS): at each step the latest LAGS values, newest first,
    zero before the window starts."""
    padded = tf.pad(values, [[0, 0], [LAGS - 1, 0]])
    return tf.signal.frame(padded, LAGS, 1, axis=1)[..., ::-1]


class ForecasterServing(tf.Module):
    """The exported signatures, compiled with XLA when `jit_compile`: `serving_default` whole;
    `forecast` checks the horizon outside XLA (XLA drops assertions) and runs the rollout
    compiled, into a buffer of MAX_HORIZON steps so one compilation serves every horizon."""

    def __init__(self, model: Forecaster, jit_compile: bool = True):
        super().__init__()
        self.model = model
        self.next_values = tf.function(
            self._next_values, input_signature=[WINDOW_SPEC], jit_compile=jit_compile
        )
        self._rollout = tf.function(
            lambda window, steps: self.model.forecast(window, steps, MAX_HORIZON),
            jit_compile=jit_compile,
        )
        self.forecast = tf.function(self._forecast, input_signature=[WINDOW_SPEC, HORIZON_SPEC])

    def _next_values(self, window):
        return {"next": self.model.next_values(window)[0]}

    def _forecast(self, window, horizon):
        checks = [
            tf.debugging.assert_greater_equal(horizon, 1, message="horizon must be at least 1"),
            tf.debugging.assert_less_equal(
                horizon, MAX_HORIZON, message=f"horizon must be at most {MAX_HORIZON}"
            ),
        ]
        with tf.control_dependencies(checks):
            steps = tf.reduce_max(horizon)
        return {"forecast": self._rollout(window, steps)[:, :steps]}


def train(settings: TrainSettings) -> TrainedModel:
    """Train on seeded random windows with a rollout loss; evaluate on held-out windows."""
    hyper = {
        "units": 32,
        "lags": LAGS,
        "epochs": settings.pick("epochs", full=40, quick=2),
        "steps_per_epoch": 50 if settings.quick else 200,
        "batch_size": settings.pick("batch_size", full=128, quick=64),
        "rollout_steps": 20 if settings.quick else 100,
        "learning_rate": 5e-3,
        "one_step_weight": ONE_STEP_WEIGHT,
        "clipnorm": 1.0,
        "seed": settings.seed,
    }
    model = Forecaster(hyper["units"])
    total_steps = hyper["epochs"] * hyper["steps_per_epoch"]
    optimizer = keras.optimizers.Adam(
        keras.optimizers.schedules.CosineDecay(hyper["learning_rate"], total_steps),
        clipnorm=hyper["clipnorm"],
    )
    rollout = hyper["rollout_steps"]

    @tf.function
    def train_step(windows, inside):
        inputs, shifted, future = (
            windows[:, :WINDOW],
            windows[:, 1 : WINDOW + 1],
            windows[:, WINDOW:],
        )
        with tf.GradientTape() as tape:
            following, *_ = model.next_values(inputs)
            one_step = tf.reduce_mean(tf.square(following - shifted)[:, LOSS_FROM_STEP:])
            squared = tf.square(model.forecast(inputs, rollout) - future)
            weights = tf.cast(inside[:, WINDOW:], tf.float32)
            rolled = tf.reduce_sum(squared * weights) / tf.reduce_sum(weights)
            loss = ONE_STEP_WEIGHT * one_step + rolled
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return one_step, rolled

    rng = np.random.default_rng(settings.seed)
    held_out_rng = np.random.default_rng(settings.seed + 1)
    _, validation = random_windows(held_out_rng, 256, WINDOW + rollout)
    history: dict[str, list[float]] = {"one_step_mse": [], "rollout_mse": [], "val_rollout_mse": []}
    with Stopwatch() as fit:
        progress = tqdm(total=total_steps, desc=NAME, disable=not settings.progress, unit="step")
        for _ in range(hyper["epochs"]):
            sums = np.zeros(2)
            for _ in range(hyper["steps_per_epoch"]):
                starts, windows = random_windows(
                    rng, hyper["batch_size"], WINDOW + rollout, inside=WINDOW + 1
                )
                inside = inside_range(starts, WINDOW + rollout)
                sums += [float(v) for v in train_step(tf.constant(windows), tf.constant(inside))]
                progress.update()
            one_step, rolled = sums / hyper["steps_per_epoch"]
            val = float(
                tf.reduce_mean(
                    tf.square(
                        model.forecast(validation[:, :WINDOW], rollout) - validation[:, WINDOW:]
                    )
                )
            )
            history["one_step_mse"].append(one_step)
            history["rollout_mse"].append(rolled)
            history["val_rollout_mse"].append(val)
            progress.set_postfix(one_step=f"{one_step:.2e}", rollout=f"{rolled:.2e}")
        progress.close()

    serving = ForecasterServing(model, settings.jit_compile)
    metrics = evaluate(serving, np.random.default_rng(settings.seed + 2))
    data = generated_data(
        "t*sin(t)/3 + 2*sin(5t), t in [0, 30], step 0.1, windows starting at "
        f"random t, numpy PCG64 seeded {settings.seed}",
        metrics,
        "the held-out evaluation windows",
    )
    report = training_report(NAME, metrics, fit, data, hyper, history)
    sizes = settings.warmup_batch_sizes
    _, sample = random_windows(np.random.default_rng(settings.seed + 3), max(sizes), WINDOW)
    return TrainedModel(
        contract=FORECASTER,
        module=serving,
        signatures={"serving_default": serving.next_values, "forecast": serving.forecast},
        warmup_requests=[
            *(("serving_default", {"window": sample[:batch]}) for batch in sizes),
            *(
                ("forecast", {"window": sample[:batch], "horizon": np.full(batch, 20, np.int32)})
                for batch in sizes
            ),
        ],
        report=report,
        plots={
            "learning_curves.png": plot_learning_curves(history, NAME),
            "forecast.png": _plot_forecasts(serving),
            "error_by_horizon.png": _plot_error_by_horizon(metrics["mse_by_horizon"]),
        },
    )


def evaluate(serving: ForecasterServing, rng: np.random.Generator) -> dict:
    """One-step MSE and MSE by horizon on held-out windows whose forecast stays in [0, 30]."""
    _, windows = random_windows(rng, EVAL_WINDOWS, WINDOW + 1)
    evaluated = [windows]
    following = serving.next_values(windows[:, :WINDOW])["next"].numpy()
    one_step_mse = float(np.mean((following[:, -1] - windows[:, -1]) ** 2))
    shifted_mse = float(np.mean((following - windows[:, 1:]) ** 2))
    mse_by_horizon = {}
    for horizon in FORECAST_REPORTED_HORIZONS:
        _, windows = random_windows(rng, EVAL_WINDOWS, WINDOW + horizon)
        evaluated.append(windows)
        steps = np.full(EVAL_WINDOWS, horizon, np.int32)
        forecast = serving.forecast(windows[:, :WINDOW], steps)["forecast"].numpy()
        mse_by_horizon[str(horizon)] = float(np.mean((forecast - windows[:, WINDOW:]) ** 2))
    return {
        "one_step_mse": one_step_mse,
        "shifted_outputs_mse": shifted_mse,
        "mse_by_horizon": mse_by_horizon,
        "targets": {f"mse_{h}_steps": mse for h, mse in FORECAST_MSE.items()},
        "held_out_windows": EVAL_WINDOWS,
        "held_out_sha256": arrays_sha256(*evaluated),
    }


def _plot_forecasts(serving: ForecasterServing):
    """The series over [0, 30], one-step predictions, and 50-step forecasts from a few starts."""

    def draw(path):
        import matplotlib.pyplot as plt

        t = np.arange(T_MIN, T_MAX + RESOLUTION / 2, RESOLUTION)
        truth = series(t)
        windows = np.lib.stride_tricks.sliding_window_view(truth[:-1], WINDOW)
        one_step = serving.next_values(windows)["next"].numpy()[:, -1]
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
        top.plot(t, truth, label="true series", color="black", linewidth=1)
        top.plot(t[WINDOW:], one_step, ".", markersize=3, label="one step ahead")
        bottom.plot(t, truth, color="black", linewidth=1, label="true series")
        for start in (0, 60, 120, 180, 230):
            window = truth[start : start + WINDOW][None, :]
            ahead = min(50, len(t) - start - WINDOW)
            steps = np.array([ahead], np.int32)
            forecast = serving.forecast(window, steps)["forecast"].numpy()[0]
            bottom.plot(t[start : start + WINDOW], window[0], color="tab:blue", linewidth=2)
            bottom.plot(t[start + WINDOW : start + WINDOW + ahead], forecast, color="tab:red")
        bottom.plot([], [], color="tab:blue", linewidth=2, label="input window")
        bottom.plot([], [], color="tab:red", label="forecast (up to 50 steps)")
        top.legend(loc="upper left")
        bottom.legend(loc="upper left")
        bottom.set_xlabel("t")
        top.set_title("forecaster against the true series")
        save_figure(fig, path)

    return draw


def _plot_error_by_horizon(mse_by_horizon: dict[str, float]):
    def draw(path):
        import matplotlib.pyplot as plt

        fig, axis = plt.subplots(figsize=(5, 3.5))
        horizons = [int(h) for h in mse_by_horizon]
        axis.plot(horizons, list(mse_by_horizon.values()), "o-")
        axis.set(xscale="log", yscale="log", xlabel="horizon (steps)", ylabel="MSE")
        axis.set_title("forecast error against horizon")
        save_figure(fig, path)

    return draw
