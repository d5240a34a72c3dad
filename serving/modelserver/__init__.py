"""An embedded, TensorFlow-Serving-compatible model server: same flags, config, gRPC and REST.

This package runs models, so it needs the real TensorFlow runtime, imported before
`client.protos` (which would otherwise stand in a protobuf-only `tensorflow` namespace).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow  # noqa: F401
