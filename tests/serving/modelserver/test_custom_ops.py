"""A model built with TF Text's ops loads and serves, as under TF Serving, which links those
ops into its binary (`model_servers/BUILD`; its test_tf_text in tensorflow_model_server_test.py
serves such a model): the embedded server registers them from the tensorflow-text package."""

from __future__ import annotations

import grpc
import numpy as np

from protocol.messages import predict_pb2, prediction_service_pb2_grpc
from protocol.tensors import to_ndarray, to_tensor_proto
from serving.processes import start_model_server, write_models_config


def export_token_counter(path) -> None:
    """A SavedModel whose serving_default counts each text's whitespace tokens with TF Text's
    WhitespaceTokenizer (op TFText>WhitespaceTokenizeWithOffsetsV2)."""
    import tensorflow as tf
    import tensorflow_text

    class TokenCounter(tf.Module):
        def __init__(self):
            super().__init__()
            self.tokenizer = tensorflow_text.WhitespaceTokenizer()

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        def count(self, text):
            tokens = self.tokenizer.tokenize(text)
            return {"tokens": tf.cast(tokens.row_lengths(), tf.float32)}

    module = TokenCounter()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.count})


def test_a_tf_text_model_loads_and_counts_tokens(tmp_path):
    base = tmp_path / "token_counter"
    export_token_counter(base / "1")
    assert b"TFText>WhitespaceTokenize" in (base / "1" / "saved_model.pb").read_bytes()
    config = write_models_config(tmp_path / "models.config", {"token_counter": base})
    server = start_model_server(config, ["token_counter"], tmp_path)
    try:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(
            grpc.insecure_channel(server.grpc_address)
        )
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "token_counter"
        texts = np.array([b"the quick brown fox", b"hello", b"  spaced   out  "], dtype=object)
        request.inputs["text"].CopyFrom(to_tensor_proto(texts))
        answer = stub.Predict(request, timeout=60)
        np.testing.assert_array_equal(to_ndarray(answer.outputs["tokens"]), [4, 1, 2])
        assert "custom ops registered: TF Text" in server.log_tail(100_000)
    finally:
        server.stop()
