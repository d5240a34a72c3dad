"""Versioned, atomic SavedModel export: `<out>/<name>/<version>/` appears whole or not at all."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

import keras
import tensorflow as tf

from contract.layout import EXTRA_DIR, STAGING_PREFIX, WARMUP_FILE, existing_versions
from training.report import write_report
from training.signatures import contract_mismatches
from training.trained import TrainedModel
from training.warmup import write_warmup_records


def export_version(trained: TrainedModel, out_dir: Path) -> Path:
    """Export `trained` as the next version of its model and return the version directory.

    Everything is written into a hidden staging directory beside the versions (same file
    system), then renamed into place, so a server polling the base path never sees a
    partial model. TF Serving ignores directory names that are not integers.
    """
    mismatches = contract_mismatches(trained.contract, trained.signatures)
    if mismatches:
        raise ValueError(f"{trained.name} does not match its contract: {'; '.join(mismatches)}")
    base = out_dir / trained.name
    base.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=base))
    try:
        staging.chmod(0o755)
        track_graph_variables(trained.module)
        tf.saved_model.save(trained.module, str(staging), signatures=trained.signatures)
        extra = staging / EXTRA_DIR
        extra.mkdir(exist_ok=True)
        write_warmup_records(extra / WARMUP_FILE, trained.name, trained.warmup_requests)
        write_report(extra, trained)
        return _publish(staging, base)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def track_graph_variables(module: tf.Module) -> None:
    """Track the tf.Variables inside the module's Keras layers as plain module attributes.

    Keras 3 wraps each tf.Variable. Saved through the wrapper alone, the exported graph gets two
    handles per variable: the restore op fills one and the signatures read the other, so graph
    loaders (TensorFlow Serving's, or a TF1 session) fail with "Could not find variable". With the
    wrapped variables tracked too, restore and signatures share one handle.
    """
    module.graph_variables = [
        weight.value
        for attribute in vars(module).values()
        if isinstance(attribute, keras.layers.Layer)
        for weight in attribute.weights
    ]


def _publish(staging: Path, base: Path) -> Path:
    """Rename `staging` to the next free version number, retrying if another run took it."""
    while True:
        target = base / str(max(existing_versions(base), default=0) + 1)
        try:
            os.rename(staging, target)
        except OSError as error:
            if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            continue
        return target
