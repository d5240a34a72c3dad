"""The Flask gateway: HTTP prediction API in front of TensorFlow Serving (no TF runtime)."""
