"""An embedded, TensorFlow-Serving-compatible model server: same flags, config, gRPC and REST.

The package itself is light: `python -m serving.modelserver` checks its command line before it
loads the TensorFlow runtime (server.py imports it).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
