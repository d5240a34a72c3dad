"""Serving: the model-server launcher, the embedded TF-Serving-compatible server, the gateway."""
