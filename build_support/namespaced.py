"""The build backend: setuptools', with the project's packages moved under one namespace in
what a wheel installs. The source tree keeps its top-level packages (client, contract,
protocol, serving, training, loadtest); a built wheel holds them as `seqserve.client`,
`seqserve.contract`, ..., so installing it next to an application with its own `client.py`
or `training/` breaks neither. Each module's first-party imports (`from client.x import y`)
and the module paths it names in strings (`"serving.gateway.wsgi:app"`, `-m
serving.modelserver`, logger names) are rewritten to the namespace as the wheel is built;
editable installs (`make install`) keep the tree as it is.
"""

from __future__ import annotations

import io
import re
import shutil
import tokenize
from pathlib import Path

from setuptools.build_meta import *  # noqa: F403 (the PEP 517 hooks)
from setuptools.command.build_py import build_py

NAMESPACE = "seqserve"
PACKAGES = ("client", "contract", "protocol", "serving", "training", "loadtest")
MODULE_PATH = re.compile(rf"^(?P<quote>[rbuf]*['\"]*)(?P<package>{'|'.join(PACKAGES)})(?=[.:])")
"""A string (or, from Python 3.12, an f-string's first part) that starts with a first-party
module path."""
FSTRING_MIDDLE = getattr(tokenize, "FSTRING_MIDDLE", None)
FSTRING_START = getattr(tokenize, "FSTRING_START", None)
INIT = '"""seqserve: the project\'s packages, installed under one name."""\n'


class NamespacedBuildPy(build_py):
    """build_py, then the built packages moved under NAMESPACE with their imports rewritten."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        lib = Path(self.build_lib)
        target = lib / NAMESPACE
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        (target / "__init__.py").write_text(INIT)
        for package in PACKAGES:
            if (lib / package).exists():
                shutil.move(str(lib / package), str(target / package))
        for module in target.rglob("*.py"):
            module.write_text(namespaced(module.read_text()))


def namespaced(source: str) -> str:
    """`source` with first-party imports (`from client.x import y`; the project has no
    `import client.x`) and module-path strings under NAMESPACE."""
    rewritten = []
    previous = None
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        text = token.string
        after_from = previous is not None and previous.type == tokenize.NAME
        after_from = after_from and previous.string == "from"
        if token.type == tokenize.NAME and after_from and text in PACKAGES:
            text = f"{NAMESPACE}.{text}"
        elif token.type == tokenize.STRING or (
            token.type == FSTRING_MIDDLE and previous and previous.type == FSTRING_START
        ):
            text = MODULE_PATH.sub(rf"\g<quote>{NAMESPACE}.\g<package>", text)
        previous = token
        rewritten.append(token._replace(string=text))
    return tokenize.untokenize(rewritten)
