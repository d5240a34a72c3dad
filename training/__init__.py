"""Training and export of the served models, one module per model (named as in contract.models)."""
