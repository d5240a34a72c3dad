"""Offline data sources for the three models."""


class DataError(RuntimeError):
    """A data set is missing, corrupted or in an unknown format; the message says which."""
