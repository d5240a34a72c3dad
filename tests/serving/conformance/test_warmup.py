"""Model warmup, as TF Serving's `servables/tensorflow/saved_model_warmup.cc` and
`saved_model_warmup_util.cc` define it (tests: `saved_model_warmup_test.cc`): every predict,
classify, regress and multi-inference record of assets.extra/tf_serving_warmup_requests runs
before the version serves; an unsupported record fails the load."""

import shutil

from protocol.messages import (
    classification_pb2,
    inference_pb2,
    predict_pb2,
    prediction_log_pb2,
    regression_pb2,
)
from tests.serving.conformance import models
from tests.serving.conformance.tfs import call_rest


def write_warmup(version_dir, logs) -> None:
    import tensorflow as tf

    extra = version_dir / "assets.extra"
    extra.mkdir()
    with tf.io.TFRecordWriter(str(extra / "tf_serving_warmup_requests")) as writer:
        for log in logs:
            writer.write(log.SerializeToString())


def example_input(target) -> None:
    target.example_list.examples.add().features.feature["x"].float_list.value.append(2.0)


def mixed_records() -> list:
    """MixedWarmupData: one record of each kind."""
    predict = predict_pb2.PredictRequest()
    predict.inputs["x"].dtype = 1
    predict.inputs["x"].float_val.append(2.0)
    predict.inputs["x"].tensor_shape.dim.add().size = 1
    classify = classification_pb2.ClassificationRequest()
    classify.model_spec.signature_name = "classify_x_to_y"
    example_input(classify.input)
    regress = regression_pb2.RegressionRequest()
    regress.model_spec.signature_name = "regress_x_to_y"
    example_input(regress.input)
    multi = inference_pb2.MultiInferenceRequest()
    task = multi.tasks.add(method_name="tensorflow/serving/regress")
    task.model_spec.name, task.model_spec.signature_name = "default", "regress_x_to_y"
    example_input(multi.input)
    log = prediction_log_pb2
    return [
        log.PredictionLog(predict_log=log.PredictLog(request=predict)),
        log.PredictionLog(classify_log=log.ClassifyLog(request=classify)),
        log.PredictionLog(regress_log=log.RegressLog(request=regress)),
        log.PredictionLog(multi_inference_log=log.MultiInferenceLog(request=multi)),
    ]


def test_every_kind_of_warmup_record_is_replayed(own_server, testdata, tmp_path):
    base = tmp_path / "warm"
    shutil.copytree(testdata / models.TF1_MODEL, base)
    write_warmup(base / "00000123", mixed_records())
    monitoring = testdata / "monitoring_config.txt"
    server = own_server(
        "--model_name=default",
        f"--model_base_path={base}",
        f"--monitoring_config_file={monitoring}",
        "--num_request_iterations_for_warmup=2",
    )
    status, page = call_rest(f"{server.rest_url}/monitoring/prometheus/metrics")
    assert status == 200
    records = ":tensorflow:serving:model_warmup_records_read"
    labels = f'model_path="{base / "00000123"}",status="OK"'
    assert f"{records}{{{labels}}} 4" in page.decode()


def test_an_unsupported_warmup_record_fails_the_load(own_server, testdata, tmp_path):
    """UnsupportedLogType_SessionRun: UNIMPLEMENTED, "Unsupported log_type for warmup"."""
    base = tmp_path / "cold"
    shutil.copytree(testdata / models.TF1_MODEL, base)
    session_run = prediction_log_pb2.PredictionLog()
    session_run.session_run_log.SetInParent()
    write_warmup(base / "00000123", [session_run])
    server = own_server(
        "--model_name=default",
        f"--model_base_path={base}",
        "--max_num_load_retries=0",
        wait=False,
    )
    assert server.process.wait(60) != 0
    assert "UNIMPLEMENTED: Unsupported log_type for warmup" in server.log()
