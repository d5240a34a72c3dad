"""The baseline `make bench` compares against: what users write without a model server — a
Flask app that loads the SavedModel in every worker and calls it once per request.

Run by the benchmark as `gunicorn loadtest.naive_app:app` with NAIVE_MODEL_DIR set.
"""

import os

import tensorflow as tf
from flask import Flask, jsonify, request

from contract.models import as_images

model = tf.saved_model.load(os.environ["NAIVE_MODEL_DIR"])
classify = model.signatures["serving_default"]
app = Flask(__name__)


@app.post("/v1/digits")
def digits():
    images = as_images(request.get_json()["images"])
    outputs = classify(images=tf.constant(images))
    probabilities = outputs["probabilities"].numpy()
    return jsonify(
        {
            "predictions": [
                {"digit": int(p.argmax()), "probabilities": p.tolist()} for p in probabilities
            ]
        }
    )


@app.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})
