"""Driving gRPC with h2load: the request frame and the report (the format of nghttp2's docs)."""

import numpy as np

from loadtest.h2load import _latencies, grpc_frame, parse
from protocol.messages import predict_pb2

REPORT = """starting benchmark...
finished in 10.00s, 812.40 req/s, 1.20MB/s
requests: 8130 total, 8130 started, 8128 done, 8120 succeeded, 8 failed, 8 errored, 0 timeout
status codes: 8120 2xx, 0 3xx, 0 4xx, 8 5xx
"""


def test_frame_is_the_message_behind_a_flag_and_a_big_endian_length():
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "digit_classifier"
    message = request.SerializeToString()
    frame = grpc_frame(message)
    assert frame[0] == 0 and int.from_bytes(frame[1:5], "big") == len(message)
    assert predict_pb2.PredictRequest.FromString(frame[5:]) == request


def test_report_and_per_request_log_are_parsed():
    log = "1700000000000000\t200\t1500\n1700000000001000\t200\t2500\n1700000000002000\t200\t9000\n"
    latencies = _latencies(log)
    np.testing.assert_allclose(latencies, [1.5, 2.5, 9.0])
    result = parse(REPORT, latencies)
    assert result["requests"] == 8120 and result["failures"] == 8
    assert result["requests_per_second"] == 812.4
    assert result["p50_ms"] == 2.5 and 8.8 < result["p99_ms"] <= 9.0
