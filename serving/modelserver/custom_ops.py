"""The custom op libraries TF Serving links into its binary (`model_servers/BUILD`: TF Text's
`ops_lib` and TF Decision Forests' inference `kernel_and_op`), registered here from their
Python packages when those are installed, before any model loads: a SavedModel that uses
them then loads as it does under TF Serving, instead of failing with "Op type not registered".

A package that is installed but cannot load its ops (built for another TensorFlow, say) is
named in a warning and the server goes on; only models that need those ops then fail.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging

log = logging.getLogger(__name__)

OP_MODULES = {
    "tensorflow_text": "TF Text",
    "tensorflow_decision_forests.tensorflow.ops.inference.op_dynamic": "TF Decision Forests",
}
"""The module whose import registers each library's ops, and the library's name."""


def register() -> list[str]:
    """Import every installed op module; the names of the libraries registered."""
    registered = []
    for module, name in OP_MODULES.items():
        if importlib.util.find_spec(module.split(".")[0]) is None:
            continue
        try:
            importlib.import_module(module)
        except Exception as error:
            log.warning("%s is installed but its ops were not registered: %s", name, error)
            continue
        registered.append(name)
    if registered:
        log.info("custom ops registered: %s", ", ".join(registered))
    return registered
