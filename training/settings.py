"""Settings shared by every training run, built once from the command line."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from contract.layout import QUICK_WARMUP_BATCH_SIZES, SERVED_BATCH_SIZES


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
    xla: bool | None = None
    """Export the signatures compiled with XLA; by default full runs do and quick runs don't
    (the compile on each warmup shape would slow every test server's start)."""

    @property
    def jit_compile(self) -> bool:
        return (not self.quick) if self.xla is None else self.xla

    @property
    def warmup_batch_sizes(self) -> tuple[int, ...]:
        return QUICK_WARMUP_BATCH_SIZES if self.quick else SERVED_BATCH_SIZES

    def pick(self, name: str, full: int, quick: int) -> int:
        """The explicit setting `name` if given, else the full or quick default."""
        explicit = getattr(self, name)
        if explicit is not None:
            return explicit
        return quick if self.quick else full
