"""Settings shared by every training run, built once from the command line."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class TrainSettings:
    """What one training run needs; `None` means "the model's own default"."""

    epochs: int | None = None
    units: int | None = None
    batch_size: int | None = None
    seed: int = 42
    out: Path = Path(os.environ.get("MODELS_DIR", "models"))
    data_dir: Path = Path(os.environ.get("DATA_DIR", "data"))
    quick: bool = False
    cell: str = "keras"
    mnist_path: Path | None = field(
        default_factory=lambda: Path(p) if (p := os.environ.get("MNIST_PATH")) else None
    )
    progress: bool = True

    def pick(self, name: str, full: int, quick: int) -> int:
        """The explicit setting `name` if given, else the full or quick default."""
        explicit = getattr(self, name)
        if explicit is not None:
            return explicit
        return quick if self.quick else full
