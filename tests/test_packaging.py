"""Every extra declares what its code imports, and the light ones stay free of TensorFlow.

pyproject.toml's extras are the install story (`pip install '.[gateway]'` and so on); a module
that imports a distribution its extra does not name works here, where `.[dev]` has everything,
and breaks on a user's machine. So: each part's third-party imports (read with `ast`) must be
distributions its extra names, and the light parts must import with TensorFlow absent.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tomllib

import pytest

from serving.processes import REPO

FIRST_PARTY = {"contract", "protocol", "client", "serving", "training", "loadtest", "tests"}
PARTS = {
    "": [
        "contract",
        "protocol/__init__.py",
        "protocol/messages.py",
        "protocol/tensors.py",
        "protocol/examples.py",
    ],
    "client": ["client"],
    "gateway": ["serving/gateway", "serving/environment.py", "serving/logs.py"],
    "server": [
        "serving/modelserver",
        "serving/environment.py",
        "serving/logs.py",
        "serving/launcher.py",
        "serving/stack.py",
        "serving/processes.py",
        "serving/k8s.py",
    ],
    "train": ["training"],
    "loadtest": ["loadtest/locustfile.py", "loadtest/locust_grpc.py", "loadtest/payloads.py"],
}
"""Where each extra's code lives ("" is the core every extra gets)."""
LIGHT = {
    "client": ["client.cli"],
    "gateway": ["serving.gateway.app", "serving.gateway.wsgi"],
}


def project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def declared(extra: str) -> set[str]:
    """Distribution names the core and `extra` (with the extras it includes) require."""
    names, extras, seen = set(), [extra], set()
    meta = project()
    while extras:
        current = extras.pop()
        if current in seen:
            continue
        seen.add(current)
        requirements = (
            meta["dependencies"] if current == "" else meta["optional-dependencies"][current]
        )
        for requirement in requirements:
            name = re.match(r"[A-Za-z0-9_.-]+", requirement)[0]
            included = re.search(r"\[([^\]]+)\]", requirement)
            if name == meta["name"]:
                extras.extend(included[1].split(","))
            else:
                names.add(normalized(name))
        extras.append("")
    return names


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def third_party_imports(paths: list[str]) -> dict[str, str]:
    """Top-level module imported → the file that imports it, outside stdlib and this project."""
    files = []
    for path in paths:
        target = REPO / path
        files += sorted(target.rglob("*.py")) if target.is_dir() else [target]
    found = {}
    for file in files:
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names and top not in FIRST_PARTY:
                    found.setdefault(top, str(file.relative_to(REPO)))
    return found


@pytest.mark.parametrize("extra", PARTS)
def test_each_part_imports_only_what_its_extra_declares(extra):
    distributions = importlib.metadata.packages_distributions()
    allowed = declared(extra)
    missing = {
        module: file
        for module, file in third_party_imports(PARTS[extra]).items()
        if not {normalized(d) for d in distributions.get(module, [module])} & allowed
    }
    assert missing == {}, f"imported but not declared in [{extra or 'core'}]: {missing}"


ABSENT = """
import importlib.abc, sys
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "tensorflow_serving", "keras", "locust"):
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, Absent())
"""


@pytest.mark.parametrize("extra", LIGHT)
def test_light_parts_import_without_tensorflow_installed(extra):
    imports = "\n".join(f"import {module}" for module in LIGHT[extra])
    result = subprocess.run(
        [sys.executable, "-c", ABSENT + imports], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_the_gateway_image_installs_the_gateway_extra_without_training_or_loadtest():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "pip install --no-cache-dir '.[gateway]'" in dockerfile
    copied = set(re.findall(r"^COPY (\S+) ", dockerfile, re.MULTILINE))
    assert {"contract", "protocol", "client", "serving"} <= copied
    assert not {"training", "loadtest"} & copied


LAYERS = {
    "contract": {"contract"},
    "protocol": {"protocol"},
    "client": {"client", "contract", "protocol"},
    "training": {"training", "contract", "protocol"},
    "serving/modelserver": {"serving.modelserver", "serving.logs", "protocol", "contract.layout"},
    "serving/environment.py": set(),
    "serving/logs.py": set(),
    "serving/gateway": {
        "serving.gateway",
        "serving.environment",
        "serving.logs",
        "client",
        "contract",
        "protocol",
    },
    "serving/launcher.py": {"serving", "client", "contract", "protocol"},
    "serving/stack.py": {"serving", "client", "contract", "protocol"},
    "serving/k8s.py": {"serving.launcher"},
    "serving/processes.py": {"serving.launcher"},
}
"""What each part may import from this project: the shared layers below it, never a part
beside or above it (docs/architecture.md)."""


@pytest.mark.parametrize("part", LAYERS)
def test_imports_only_run_down_the_layers(part):
    target = REPO / part
    files = sorted(target.rglob("*.py")) if target.is_dir() else [target]
    wrong = set()
    for file in files:
        for node in ast.walk(ast.parse(file.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            for name in names:
                if name.split(".")[0] in FIRST_PARTY and not any(
                    name == allowed or name.startswith(f"{allowed}.") for allowed in LAYERS[part]
                ):
                    wrong.add(f"{file.relative_to(REPO)} imports {name}")
    assert not wrong


IMAGES = {
    "Dockerfile": "serving.gateway",
    "Dockerfile.modelserver": "serving.modelserver",
    "Dockerfile.loadtest": "loadtest.locustfile",
}
"""Each image and the module its CMD/ENTRYPOINT runs."""


def image_context(dockerfile: str, into):
    """The files the Dockerfile's COPY lines bring, laid out as in the image's WORKDIR."""
    text = (REPO / dockerfile).read_text()
    into.mkdir()
    for line in re.findall(r"^COPY (.+)$", text, re.MULTILINE):
        *sources, destination = line.split()
        for source in sources:
            target = into / (source if destination == "./" else destination)
            if (REPO / source).is_dir():
                shutil.copytree(REPO / source, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(REPO / source, target)
    return into


def test_each_image_names_the_entry_point_checked_here():
    for dockerfile, module in IMAGES.items():
        entry = re.findall(r"^(?:CMD|ENTRYPOINT) (.+)$", (REPO / dockerfile).read_text(), re.M)
        assert entry and (module in entry[-1] or module.replace(".", "/") in entry[-1])


@pytest.mark.parametrize("dockerfile", IMAGES)
def test_each_image_builds_the_package_from_what_it_copies(dockerfile, tmp_path):
    """The `pip install .` of each image, from exactly the files its COPY lines bring (no
    Docker engine here): the build backend and every package it names must be among them."""
    context = image_context(dockerfile, tmp_path / "context")
    pip = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    result = subprocess.run(
        [*pip, "-w", str(tmp_path / "wheel"), str(context)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]


ONLY_COPIED = """
import importlib, sys
sys.meta_path = [f for f in sys.meta_path if "editable" not in type(f).__module__]
importlib.import_module(sys.argv[1])
first_party = {first_party!r}
outside = sorted(
    name for name, module in list(sys.modules.items())
    if name.split(".")[0] in first_party
    and not (getattr(module, "__file__", None) or "").startswith(sys.argv[2])
    and getattr(module, "__file__", None)
)
assert not outside, f"imported from outside the image: {{outside}}"
"""


@pytest.mark.parametrize("dockerfile", IMAGES)
def test_each_entry_point_imports_from_what_the_image_copies(dockerfile, tmp_path):
    """The image's entry module, imported in a folder holding only its COPY lines' files (as
    WORKDIR is), with the checkout's editable install out of the way: a module the image does
    not copy fails here as it would in the container (`No module named 'training'`)."""
    context = image_context(dockerfile, tmp_path / "context")
    code = ONLY_COPIED.format(first_party=FIRST_PARTY)
    result = subprocess.run(
        [sys.executable, "-c", code, IMAGES[dockerfile], str(context)],
        cwd=context,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_nothing_outside_the_tests_imports_them():
    """The test suite is not a runtime package: its support code serves the tests alone."""
    wrong = []
    for file in sorted(REPO.rglob("*.py")):
        relative = file.relative_to(REPO)
        if relative.parts[0] in ("tests", "build", "site") or relative.parts[0].startswith("."):
            continue
        for node in ast.walk(ast.parse(file.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            wrong += [
                f"{relative} imports {name}" for name in names if name.split(".")[0] == "tests"
            ]
    assert not wrong
