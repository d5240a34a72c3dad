import json
import subprocess

from contract.layout import EXTRA_DIR, REPORT_FILE
from serving.processes import REPO
from training.__main__ import main, parse_args


def test_all_expands_to_the_three_models_with_documented_defaults():
    names, settings, if_missing = parse_args(["all"])
    assert names == ["sum_regressor", "digit_classifier", "forecaster"]
    assert (settings.seed, settings.quick, settings.cell, if_missing) == (42, False, "keras", False)
    assert settings.pick("epochs", full=15, quick=2) == 15


def test_explicit_flags_override_model_defaults():
    _, settings, _ = parse_args(["forecaster", "--epochs", "3", "--quick", "--seed", "7"])
    assert settings.pick("epochs", full=15, quick=2) == 3
    assert settings.seed == 7


def test_if_missing_skips_models_that_have_a_version(models_dir, capsys):
    assert main(["all", "--if-missing", "--out", str(models_dir)]) == 0
    assert capsys.readouterr().out.count("skipping") == 3
    assert sorted(p.name for p in (models_dir / "forecaster").iterdir()) == ["1"]


def test_unreadable_mnist_exits_2_with_the_reason(tmp_path, capsys):
    missing = tmp_path / "mnist.npz"
    assert (
        main(["digit_classifier", "--quick", "--out", str(tmp_path), "--mnist", str(missing)]) == 2
    )
    assert f"error: {missing}: no such MNIST file" in capsys.readouterr().err
    assert not (tmp_path / "digit_classifier").exists() or not any(
        (tmp_path / "digit_classifier").iterdir()
    )


def test_each_export_records_the_commit_that_trained_it(models_dir):
    report = json.loads(
        (models_dir / "forecaster" / "1" / EXTRA_DIR / REPORT_FILE).read_text(encoding="utf-8")
    )
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert report["provenance"]["commit"] == head
    assert isinstance(report["provenance"]["uncommitted_changes"], bool)
