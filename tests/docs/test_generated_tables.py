"""The documentation's reference tables come from the code that holds each fact."""

from __future__ import annotations

import sys

import pytest

from serving.gateway.errors import HTTP_ERRORS
from serving.gateway.settings import GatewaySettings
from serving.modelserver.flags import FLAGS
from serving.processes import REPO
from serving.stack import StackSettings

sys.path.insert(0, str(REPO / "build_support"))
import docs_tables


def test_every_setting_error_flag_and_target_has_a_row():
    gateway = docs_tables.render("<!-- table: gateway-settings -->")
    assert all(f"`{f.alias}`" in gateway for f in GatewaySettings.model_fields.values())
    stack = docs_tables.render("<!-- table: stack-settings -->")
    assert "`STACK_HANG_TIMEOUT_S`" in stack and "`MODELS_DIR`" not in stack
    errors = docs_tables.render("<!-- table: gateway-errors -->")
    assert all(f"| {status} | `{e.code}` |" in errors for status, e in HTTP_ERRORS.items())
    flags = docs_tables.render("<!-- table: model-server-flags -->")
    assert all(f"`--{flag.name}`" in flags for flag in FLAGS)
    targets = docs_tables.render("<!-- table: make-targets -->")
    assert "`make docs`" in targets and "`make k8s-scan`" in targets


def test_every_setting_is_described_in_its_model():
    for settings in (GatewaySettings, StackSettings):
        assert all(field.description for field in settings.model_fields.values())


def test_an_unknown_table_is_an_error():
    with pytest.raises(ValueError, match="unknown table 'nope'"):
        docs_tables.render("<!-- table: nope -->")
