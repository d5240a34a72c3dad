"""Reading samples off a metrics page the way the benchmarks and the soak read them."""

from loadtest.prometheus import samples, total

PAGE = """# TYPE :tensorflow:serving:request_count counter
:tensorflow:serving:request_count{model_name="digits",status="OK"} 30
:tensorflow:serving:request_count{model_name="digits",status="UNAVAILABLE"} 2
:tensorflow:serving:request_count{model_name="sums",status="OK"} 5
# TYPE seqserve_batch_size histogram
seqserve_batch_size_bucket{model_name="digits",le="+Inf"} 4
seqserve_batch_size_sum{model_name="digits"} 32
seqserve_batch_size_count{model_name="digits"} 4
"""


def test_a_counter_is_found_by_the_name_tf_serving_gives_it():
    found = samples(PAGE, ":tensorflow:serving:request_count", model_name="digits")
    assert sorted((labels["status"], value) for labels, value in found) == [
        ("OK", 30.0),
        ("UNAVAILABLE", 2.0),
    ]
    assert total(PAGE, ":tensorflow:serving:request_count") == 37.0


def test_missing_samples_total_zero():
    assert total(PAGE, "seqserve_batch_size_sum", model_name="digits") == 32.0
    assert total(PAGE, "seqserve_batch_size_sum", model_name="sums") == 0.0
