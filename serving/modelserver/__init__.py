"""An embedded, TensorFlow-Serving-compatible model server: same flags, config, gRPC and REST."""
