"""Where an exported model's pieces live on disk: TF Serving's `<base>/<version>/` layout."""

from __future__ import annotations

import re
from pathlib import Path

VERSION_NAME = re.compile(r"^\s*[+-]?[0-9]+\s*$")
"""A version folder's name as TF Serving reads it: absl::SimpleAtoi in
file_system_storage_path_source.cc (ParseVersionNumber), whitespace around and a sign allowed;
any other child of a base path is not a version."""
STAGING_PREFIX = ".staging-"
EXTRA_DIR = "assets.extra"
WARMUP_FILE = "tf_serving_warmup_requests"
REPORT_FILE = "evaluation.json"
SERVED_BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64)
"""The batch sizes the model server runs (serving/config/batching.config pads every batch to
one of them); each export's warmup covers them all, so XLA has compiled every shape before a
version serves. A test checks that the two lists agree."""
SHIPPED_VERSION = 1
"""The version of each model that ships in the repository's models/ folder, trained by `make train`
at the commit its evaluation.json names: a fresh clone serves it at once. `make train` exports
newer versions beside it, and the version policy serves the newest."""
QUICK_WARMUP_BATCH_SIZES = (1, 8)
"""Quick (test) models warm up on fewer shapes, to start fast."""


def version_of(name: str) -> int | None:
    """The version a folder named `name` holds, or None when it is not a version folder."""
    return int(name) if VERSION_NAME.match(name) else None


def existing_versions(base: Path) -> list[int]:
    """The integer versions published under a model's base path, ascending."""
    if not base.is_dir():
        return []
    found = {version_of(p.name) for p in base.iterdir() if p.is_dir()}
    return sorted(found - {None})
