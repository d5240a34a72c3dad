import json

from training.summary import summarise


def write_report(models_dir, name, metrics, seconds=12.0):
    extra = models_dir / name / "3" / "assets.extra"
    extra.mkdir(parents=True)
    (extra / "evaluation.json").write_text(
        json.dumps({"metrics": metrics, "training_seconds": seconds})
    )


def sums(worst_1_64, share_65_128):
    entry = {"within_tolerance": 1.0, "mean_abs_error": 0.01, "max_abs_error": 0.02}
    return {
        "lengths_1_64": {**entry, "max_abs_error": worst_1_64},
        "all_ones_1_64": entry,
        "all_zeros_1_64": entry,
        "lengths_65_128": {**entry, "within_tolerance": share_65_128},
        "all_ones_first_miss": 140,
        "all_zeros_first_miss": None,
    }


def test_each_row_says_whether_the_latest_version_meets_its_target(tmp_path):
    write_report(tmp_path, "sum_regressor", sums(worst_1_64=0.07, share_65_128=0.995))
    write_report(
        tmp_path, "digit_classifier", {"test_accuracy": 0.9942, "test_images": 10_000}, 600
    )
    write_report(
        tmp_path,
        "forecaster",
        {"one_step_mse": 2e-4, "mse_by_horizon": {"1": 2e-4, "100": 5e-3, "200": 0.3}},
    )
    table = summarise(tmp_path).splitlines()
    row = {line.split(" | ")[2]: line for line in table[2:]}
    assert "| **no** |" in row["random densities, lengths 1–64"]
    assert "worst 0.07" in row["random densities, lengths 1–64"]
    assert "| yes |" in row["random densities, lengths 65–128 (never trained)"]
    assert "length 140" in row["first all-ones length off by ±0.05 or more"]
    assert "none up to the longest probed" in row["first all-zeros length off by ±0.05 or more"]
    assert "99.42% | ≥ 99.4% | yes | 600 s" in row["test accuracy (10,000 images)"]
    assert "| **no** |" in row["one-step-ahead MSE"]
    assert "| yes |" in row["MSE over a 100-step forecast"]
    assert "| report |  |" in row["MSE over a 200-step forecast"]
    assert all(line.startswith("| ") and " | 3 | " in line for line in table[2:])


def test_a_model_without_versions_is_listed_as_not_trained(tmp_path):
    assert "| forecaster | — | not trained |" in summarise(tmp_path)
