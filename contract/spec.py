"""The types a model contract is written in: tensors by alias, signatures, models."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tensor:
    """One input or output of a signature: its dtype name and shape (None: any size)."""

    dtype: str
    shape: tuple[int | None, ...]


@dataclass(frozen=True)
class Signature:
    """A SignatureDef: tensors by alias, the names clients use in `inputs` and `outputs`."""

    inputs: dict[str, Tensor]
    outputs: dict[str, Tensor]


@dataclass(frozen=True)
class ModelContract:
    """What a served model promises: its name and signatures (`serving_default` first)."""

    name: str
    signatures: dict[str, Signature]

    def signature(self, name: str = "serving_default") -> Signature:
        return self.signatures[name]
