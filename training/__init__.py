"""Training and export of the three sequence models served by this project."""

MODEL_NAMES = ("sum_regressor", "digit_classifier", "forecaster")
