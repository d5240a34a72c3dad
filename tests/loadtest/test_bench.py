"""The benchmark's verdicts: each target row is computed from the measured figures, and every
peer framework measured gets its own row."""

from loadtest.bench import markdown, route_requests, targets
from loadtest.served import batch_rows
from protocol.messages import predict_pb2


def point(rate: float, p50: float, p99: float, failures: int = 0, **cpu: float) -> dict:
    costs = {**cpu, "total": round(sum(cpu.values()), 3)} if cpu else {}
    return {
        "requests_per_second": rate,
        "p50_ms": p50,
        "p99_ms": p99,
        "failures": failures,
        "cpu_ms_per_request": costs,
    }


RESULTS = {
    "in_process": {
        "xla": {"batch_1_ms": 0.8, "batch_64_images_per_second": 4000.0},
        "plain": {"batch_1_ms": 5.0, "batch_64_images_per_second": 2500.0},
    },
    "grpc": {1: point(500, 1.8, 3.0), 64: point(2100, 30, 90)},
    "gateway": {
        1: point(250, 2.5, 6.0),
        64: {**point(1300, 50, 140, gateway=0.4, model_server=0.3), "rows_per_model_run": 12.5},
    },
    "naive": {1: point(200, 4.0, 9.0), 64: point(800, 80, 300, naive=1.0)},
    "bentoml": {1: point(100, 9.0, 20.0), 64: point(800, 45, 120, bentoml=2.0)},
    "routes": {
        "sum": {
            "grpc": {1: point(900, 1.0, 2.0), 64: point(3000, 20, 40)},
            "gateway": {1: point(400, 2.0, 4.0), 64: point(1500, 40, 80, failures=2)},
        }
    },
}


def test_every_target_is_judged_from_the_figures():
    verdicts = {target: met for target, _, met in targets(RESULTS, 64)}
    assert verdicts == {
        "gateway CPU per request c=64 ≤ 0.5 ms": True,
        "gateway + model server CPU per request c=64 ≤ 0.8× naive": True,
        "gateway c=64 ≥ 1.25× naive": True,
        "gateway c=64 p99 ≤ 60 ms": False,
        "gateway c=64 no failures": True,
        "gateway c=64 ≥ 1.5× bentoml": True,
        "gateway c=1 p50 ≤ in-process batch 1 + 1.5 ms": False,
    }


def test_v2_is_judged_against_tf_servings_grpc_when_measured():
    measured = {**RESULTS, "grpc_v2": {1: point(500, 1.8, 3.0), 64: point(2000, 30, 90)}}
    measured["grpc"] = {1: point(500, 1.8, 3.0), 64: point(2100, 30, 90, model_server=0.8)}
    measured["grpc_v2"][64] = point(2000, 30, 90, model_server=0.75)
    verdicts = {target: met for target, _, met in targets(measured, 64)}
    assert verdicts["V2 gRPC CPU per request c=64 ≤ TF Serving gRPC's"] is True
    measured["grpc_v2"][64] = point(2000, 30, 90, model_server=0.9)
    verdicts = {target: met for target, _, met in targets(measured, 64)}
    assert verdicts["V2 gRPC CPU per request c=64 ≤ TF Serving gRPC's"] is False


def test_the_cpu_table_gives_each_process_its_share():
    table = markdown(RESULTS, [1, 64], "test machine").splitlines()
    assert "| gateway | gateway 0.4, model_server 0.3 | 0.7 | 12.5 |" in table
    assert "| naive | naive 1.0 | 1.0 |  |" in table


def test_the_table_has_a_row_for_each_path_measured():
    table = markdown(RESULTS, [1, 64], "test machine")
    rows = [line.split(" | ")[0] for line in table.splitlines() if line.startswith("| ")]
    for path in ("grpc", "gateway", "naive", "bentoml"):
        assert f"| {path}" in rows
    assert "| ray" not in rows


def test_the_extra_routes_get_a_table_of_their_own():
    table = markdown(RESULTS, [1, 64], "test machine").splitlines()
    row = "| sum | 900 (1.0 / 2.0) | 3000 (20 / 40) | 400 (2.0 / 4.0) | 1500 (40 / 80), 2 failed |"
    assert row in table


def test_route_requests_are_what_the_gateway_sends_for_models_present(tmp_path):
    (tmp_path / "forecaster" / "1").mkdir(parents=True)
    requests = route_requests(tmp_path)
    assert list(requests) == ["forecast"]
    model, message, body = requests["forecast"]
    request = predict_pb2.PredictRequest.FromString(message)
    assert model == request.model_spec.name == "forecaster"
    assert request.model_spec.signature_name == "forecast"
    assert list(request.output_filter) == ["forecast"]
    assert sorted(request.inputs) == ["horizon", "window"]
    assert list(request.inputs["horizon"].int_val) == [10]
    assert b'"horizon": 10' in body


def test_rows_per_model_run_are_read_from_the_model_servers_metrics():
    metrics = "\n".join(
        [
            'seqserve_batch_size_bucket{model_name="sum_regressor",le="+Inf"} 40',
            'seqserve_batch_size_sum{model_name="sum_regressor"} 400',
            'seqserve_batch_size_count{model_name="sum_regressor"} 40',
            'seqserve_batch_size_sum{model_name="forecaster"} 7',
            'seqserve_batch_size_count{model_name="forecaster"} 7',
        ]
    )
    assert batch_rows(metrics, "sum_regressor") == (40.0, 400.0)
    assert batch_rows(metrics, "digit_classifier") == (0.0, 0.0)
