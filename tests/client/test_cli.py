"""The command-line client against the real model server: output, JSON, errors, exit codes."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from client.cli import main
from serving.processes import REPO, free_port


@pytest.fixture
def run(model_server, capsys):
    def invoke(*argv: str) -> tuple[int, str, str]:
        code = main(["--address", model_server.grpc_address, "--timeout", "30", *argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


def test_sum_prints_the_count(run):
    code, out, _ = run("sum", "1", "0", "1", "1")
    assert code == 0 and float(out) == pytest.approx(3.0, abs=0.3)
    code, out, _ = run("--json", "sum", "0110")
    assert code == 0 and json.loads(out)["sum"] == pytest.approx(2.0, abs=0.3)


def test_words_of_several_bits_are_a_sequence_each(run):
    code, out, _ = run("--json", "sum", "0110", "111")
    assert code == 0 and json.loads(out)["sums"] == pytest.approx([2.0, 3.0], abs=0.3)


def test_options_may_follow_the_command(model_server, capsys):
    code = main(["sum", "1", "1", "--address", model_server.grpc_address, "--json"])
    assert code == 0 and json.loads(capsys.readouterr().out)["sum"] == pytest.approx(2, abs=0.3)
    code = main(["--address", model_server.grpc_address, "status", "forecaster", "--json"])
    assert code == 0 and json.loads(capsys.readouterr().out)[0]["state"] == "AVAILABLE"


def test_each_command_has_a_description(capsys):
    with pytest.raises(SystemExit):
        main(["sum", "--help"])
    assert "words of several bits" in capsys.readouterr().out


@pytest.mark.parametrize("address", ["", " , "])
def test_an_empty_address_is_bad_input_not_a_traceback(address, capsys):
    assert main(["--address", address, "sum", "1"]) == 2
    assert "empty; expected host:port" in capsys.readouterr().err


def test_digits_from_png_and_npy(run, tmp_path):
    image = np.zeros((28, 28), np.float32)
    image[4:24, 13:16] = 1.0
    np.save(tmp_path / "one.npy", image)
    Image.fromarray(((1 - image) * 255).astype(np.uint8)).resize((140, 140)).save(
        tmp_path / "one.png"
    )
    code, out, _ = run("--json", "digits", str(tmp_path / "one.npy"), str(tmp_path / "one.png"))
    assert code == 0
    rows = json.loads(out)
    assert [r["image"] for r in rows] == [str(tmp_path / "one.npy"), str(tmp_path / "one.png")]
    assert all(0 <= r["digit"] <= 9 and 0 < r["probability"] <= 1 for r in rows)


def test_forecast_status_and_metadata(run):
    values = [str(v) for v in np.sin(np.arange(25) * 0.3)]
    code, out, _ = run("forecast", "--horizon", "7", *values)
    assert code == 0 and len(out.split()) == 7
    code, out, _ = run("status", "forecaster")
    assert (code, out.strip()) == (0, "version 1: AVAILABLE")
    code, out, _ = run("--model-version", "1", "status", "forecaster")
    assert (code, out.strip()) == (0, "version 1: AVAILABLE")
    code, _, err = run("--model-version", "7", "status", "forecaster")
    assert code == 5 and "NOT_FOUND" in err
    code, out, _ = run("--json", "metadata", "forecaster")
    assert code == 0
    forecast = json.loads(out)["forecast"]
    assert forecast["inputs"]["horizon"] == {"dtype": "DT_INT32", "shape": [-1]}
    assert forecast["outputs"]["forecast"]["dtype"] == "DT_FLOAT"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("sum", "0", "2"), "error: sum: expected 0s and 1s, got '02'"),
        (("sum", "0110", "12"), "error: sum: expected 0s and 1s, got '12'"),
        (("sum", "1" * 65), "error: sum: expected at most 64 bits, got 65"),
        (("forecast", "1", "2"), "error: forecast: expected at least 20 finite values, got 2"),
        (
            ("forecast", "--horizon", "0", *["1"] * 20),
            "error: forecast: --horizon must be in [1, 200], got 0",
        ),
        (("digits", "/nonexistent.png"), "error: /nonexistent.png: No such file"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(run, argv, message):
    code, out, err = run(*argv)
    assert (code, out) == (2, "")
    assert err.startswith(message)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--bogus", "sum", "1"], "unrecognized arguments: --bogus"),
        (["--model-version", "x", "sum", "1"], "argument --model-version: invalid int value"),
        (["sum"], "the following arguments are required: bits"),
        (["--model-version", "1", "sum", "--label", "x", "1"], "not allowed with"),
        ([], "the following arguments are required: command"),
    ],
)
def test_a_bad_argument_is_one_line_and_exit_2(capsys, argv, message):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.count("\n") == 1 and message in err and err.startswith("seqserve-client")


def test_version_prints_the_programs_version_and_exits_0(capsys):
    """CLI convention (GNU, argparse's own action): --version is the program's version."""
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("seqserve-client 0.")


def test_an_unreadable_tls_ca_exits_2_without_a_traceback(tmp_path, capsys):
    missing = tmp_path / "missing.pem"
    code = main(["--tls-ca", str(missing), "status", "forecaster"])
    captured = capsys.readouterr()
    assert (code, captured.out) == (2, "")
    assert captured.err == f"error: --tls-ca: No such file or directory: {missing}\n"


def test_unknown_model_exits_5(run):
    code, _, err = run("status", "nope")
    assert code == 5 and "NOT_FOUND" in err


def test_console_script_reports_a_dead_server_with_exit_3():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "client",
            "--address",
            f"127.0.0.1:{free_port()}",
            "--timeout",
            "2",
            "sum",
            "1",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3
    assert "UNAVAILABLE" in result.stderr or "DEADLINE" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_installed_console_script_prints_the_package_version():
    script = Path(sys.executable).parent / "seqserve-client"
    result = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["seqserve-client", importlib.metadata.version("seqserve")]
