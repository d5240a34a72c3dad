"""Parsing wrk's report (the benchmark's HTTP load generator)."""

from loadtest.wrk import parse

REPORT = """Running 8s test @ http://127.0.0.1:8000/v1/digits
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   150.12ms   40.10ms 500.00ms   70.00%
    Req/Sec   210.00     30.00   300.00     65.00%
  Latency Distribution
     50%  145.50ms
     75%  170.00ms
     90%  200.00ms
     99%    1.20s
  3360 requests in 8.01s, 1.20MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 7
Requests/sec:    419.48
Transfer/sec:    150.00KB
"""


def test_wrk_report_is_parsed_with_failures_and_units():
    assert parse(REPORT, 8) == {
        "requests": 3350,
        "failures": 10,
        "requests_per_second": 419.5,
        "p50_ms": 145.5,
        "p99_ms": 1200.0,
    }


def test_a_clean_report_has_no_failures():
    clean = REPORT.replace("  Socket errors: connect 0, read 1, write 0, timeout 2\n", "")
    clean = clean.replace("  Non-2xx or 3xx responses: 7\n", "").replace(
        "99%    1.20s", "99%  900.00us"
    )
    facts = parse(clean, 8)
    assert (facts["requests"], facts["failures"], facts["p99_ms"]) == (3360, 0, 0.9)
