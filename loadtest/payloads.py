"""Realistic request payloads with their true answers: real MNIST test digits, 0/1 sequences of
varied length, windows of the true series. Light: NumPy only, no TensorFlow."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from contract.models import DIGIT_CLASSIFIER, MAX_LENGTH, WINDOW
from protocol.messages import predict_pb2
from protocol.tensors import to_tensor_proto
from protocol.v2 import grpc_predict_v2_pb2
from training.data.mnist import load_mnist
from training.data.series import RESOLUTION, T_MAX, T_MIN, series

SAMPLE_NAME = "mnist_test_sample.npz"


@dataclass(frozen=True)
class Digits:
    images: np.ndarray
    labels: np.ndarray


def mnist_sample(data_dir: Path, count: int = 256) -> Digits:
    """The first `count` MNIST test digits, cached in `data_dir` so load processes stay small."""
    cached = data_dir / SAMPLE_NAME
    if cached.exists():
        with np.load(cached) as saved:
            if len(saved["labels"]) >= count:
                return Digits(saved["images"][:count], saved["labels"][:count])
    images, labels = load_mnist(data_dir).test
    sample = Digits(images[:count].astype(np.float32), labels[:count])
    data_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cached, images=sample.images, labels=sample.labels)
    return sample


def predict_request(model: str, **inputs: np.ndarray) -> predict_pb2.PredictRequest:
    """A PredictRequest for the default signature of `model` with these inputs."""
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    for alias, value in inputs.items():
        request.inputs[alias].CopyFrom(to_tensor_proto(value))
    return request


def digit_payloads(image: np.ndarray) -> tuple[predict_pb2.PredictRequest, bytes]:
    """One 28×28 image as a digit_classifier PredictRequest and as the gateway's JSON body."""
    request = predict_request(DIGIT_CLASSIFIER.name, images=image[None].astype(np.float32))
    return request, json.dumps({"images": [image.tolist()]}).encode()


def v2_digit_request(image: np.ndarray) -> grpc_predict_v2_pb2.ModelInferRequest:
    """One 28×28 image as an Open Inference Protocol ModelInfer, raw contents (as tritonclient
    sends them)."""
    images = image[None].astype("<f4")
    request = grpc_predict_v2_pb2.ModelInferRequest(model_name=DIGIT_CLASSIFIER.name)
    request.inputs.add(name="images", datatype="FP32", shape=list(images.shape))
    request.raw_input_contents.append(images.tobytes())
    return request


def random_sequence(rng: np.random.Generator) -> list[int]:
    return rng.integers(0, 2, int(rng.integers(1, MAX_LENGTH + 1))).tolist()


def series_window(rng: np.random.Generator, horizon: int) -> tuple[list[float], np.ndarray]:
    """A window of the true series inside t ∈ [0, 30], and the `horizon` values that follow."""
    steps = WINDOW + horizon
    start = rng.uniform(T_MIN, T_MAX - steps * RESOLUTION)
    values = series(start + np.arange(steps) * RESOLUTION)
    return values[:WINDOW].tolist(), values[WINDOW:]
