"""Settings read from the environment: a pydantic model whose field aliases are the variables.

Each process builds one such object at start (`from_env`) and passes it down; nothing else
reads `os.environ`. An empty variable counts as unset; a bad value raises `SettingsError`,
whose message names the variable, its value and what was expected (booleans accept only
true/false, 1/0, yes/no, on/off).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Self

from pydantic import BaseModel, ConfigDict, ValidationError


class SettingsError(ValueError):
    """An environment variable holds something unusable; the message names it."""


class EnvSettings(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        validate_default=True,
        extra="forbid",
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Self:
        names = {field.alias for field in cls.model_fields.values()}
        given = {name: value for name, value in env.items() if name in names and value != ""}
        try:
            return cls.model_validate(given)
        except ValidationError as error:
            raise SettingsError(describe(error)) from None


def describe(error: ValidationError) -> str:
    """One clause per problem: the variable, its value and what was expected."""
    clauses = []
    for problem in error.errors(include_url=False):
        name = ".".join(str(part) for part in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        value = problem.get("input")
        if isinstance(value, str):
            clauses.append(f"{name}={value!r}: {message}")
        else:
            clauses.append(f"{name}: {message}" if name else message)
    return "; ".join(clauses)
