"""seqserve: the project's packages under one name.

A built wheel holds client, contract, protocol, serving, training and loadtest as
`seqserve.client` and so on (build_support/namespaced.py moves them and rewrites their
imports). In the source tree, and in the editable install `make install` makes, they are
top-level packages; here `seqserve.<package>` names the very same modules (an alias, not a
second copy), so code written against the installed names runs from a checkout too.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

PACKAGES = ("client", "contract", "protocol", "serving", "training", "loadtest")


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds `seqserve.<package>[.<module>]` as the top-level module of the same path."""

    def find_spec(self, fullname, path=None, target=None):
        parts = fullname.split(".")
        if parts[0] != __name__ or len(parts) < 2 or parts[1] not in PACKAGES:
            return None
        real = importlib.import_module(".".join(parts[1:]))
        is_package = hasattr(real, "__path__")
        return importlib.util.spec_from_loader(fullname, self, is_package=is_package)

    def create_module(self, spec):
        return importlib.import_module(spec.name.partition(".")[2])

    def exec_module(self, module):
        """Already executed under its own name."""


if not any(isinstance(finder, _Alias) for finder in sys.meta_path):
    sys.meta_path.insert(0, _Alias())
