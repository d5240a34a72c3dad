"""The facts every part shares, stated once, without TensorFlow: what each model takes and
returns (`models`, typed by `spec`) and how exported versions sit on disk (`layout`).

Training builds its `tf.TensorSpec`s from it; the gateway, the client, the CLI, the docs, the
load tests and the tests read it. Adding a model starts with one entry in `models`.
"""
