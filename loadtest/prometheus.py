"""Samples from a Prometheus text page, read by prometheus_client's parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str, name: str, **labels: str) -> list[tuple[dict[str, str], float]]:
    """(labels, value) of each sample called `name` whose labels include `labels`. A counter's
    samples are matched with or without the `_total` the parser gives them (TF Serving's
    counters, such as :tensorflow:serving:request_count, have none)."""
    names = {name, f"{name}_total"}
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name in names and labels.items() <= sample.labels.items()
    ]


def total(text: str, name: str, **labels: str) -> float:
    """The sum of those samples' values (0 when there are none)."""
    return sum(value for _, value in samples(text, name, **labels))
