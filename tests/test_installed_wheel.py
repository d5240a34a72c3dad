"""What `pip install` puts into site-packages: one package, `seqserve`, whatever the extras; an
application with its own `client`, `contract`, `protocol` and `training` modules uses the
installed client library beside them (the wheel built by the project's backend, installed
apart from the source tree, against the real model server); and an application's type checker
sees the library's types (py.typed, explicit keyword arguments)."""

from __future__ import annotations

import zipfile

from tests.docs.test_documented_commands import BLOCKS
from tests.support.installed import mypy, run_isolated

APP = """\
import importlib.util
import sys

import client
import contract
import protocol
import training
from seqserve.client.errors import InvalidInput
from seqserve.client.grpc_client import ServingClient

assert importlib.util.find_spec("serving") is None, "no generic top-level name installed"
with ServingClient(sys.argv[1], timeout=30) as serving:
    print("version", serving.sums([[1, 1, 0]]).version)
    try:
        serving.sums([[2]])
    except InvalidInput as error:
        print("refused", error.details)
print(client.NAME, contract.NAME, protocol.NAME, training.NAME)
"""


def test_the_wheel_installs_one_top_level_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {"seqserve", "seqserve-0.1.0.dist-info"}
    assert "seqserve/client/py.typed" in names


def test_an_app_with_its_own_client_contract_protocol_training(site, model_server, tmp_path):
    for module in ("client", "contract", "protocol"):
        (tmp_path / f"{module}.py").write_text(f'NAME = "app {module}"\n')
    (tmp_path / "training").mkdir()
    (tmp_path / "training" / "__init__.py").write_text('NAME = "app training"\n')
    (tmp_path / "main.py").write_text(APP)
    result = run_isolated(site, tmp_path, "main.py", model_server.grpc_address)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "version 1",
        "refused sequences[0][0]: expected 0 or 1, got 2",
        "app client app contract app protocol app training",
    ]


def test_the_installed_command_line(site, model_server, tmp_path):
    (tmp_path / "client.py").write_text("raise SystemExit('the app module was imported')\n")
    address = model_server.grpc_address
    result = run_isolated(
        site, tmp_path, "-m", "seqserve.client", "--address", address, "status", "forecaster"
    )
    assert (result.returncode, result.stdout.strip()) == (0, "version 1: AVAILABLE"), result.stderr


def test_the_documented_client_example_type_checks(site, tmp_path):
    (example,) = (b for b in BLOCKS if b.page.name == "clients.md" and b.lang == "python")
    result = mypy(site, tmp_path, example.body)
    assert result.returncode == 0, result.stdout


def test_a_misspelt_argument_and_a_wrong_answer_type_are_errors(site, tmp_path):
    code = """\
from seqserve.client.grpc_client import ServingClient

with ServingClient("localhost:8500") as serving:
    serving.sums([[0, 1]], verison=1)
    digits: str = serving.digits([[0.0] * 784]).digits
"""
    result = mypy(site, tmp_path, code)
    assert result.returncode == 1
    assert 'Unexpected keyword argument "verison"' in result.stdout
    assert "Incompatible types in assignment" in result.stdout
