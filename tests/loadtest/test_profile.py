from loadtest.profile import top_functions

FOLDED = """\
_bootstrap (threading.py:1002);run (a.py:1);Condition.wait (threading.py:331) 70
_bootstrap (threading.py:1002);run (a.py:1);__call__ (session.py:1510) 20
_bootstrap (threading.py:1002);run (a.py:1);_typed_values (tensors.py:121) 10
_bootstrap (threading.py:1002);loop (b.py:2);_PollLikeSelector.select (selectors.py:415) 30
"""


def test_shares_count_busy_samples_only_by_own_and_total_time():
    table = top_functions(FOLDED).splitlines()
    assert table[2] == "| 66.7 | 66.7 | `__call__ (session.py:1510)` |"
    assert table[3] == "| 33.3 | 33.3 | `_typed_values (tensors.py:121)` |"
    assert len(table) == 4, "idle waits are left out"
