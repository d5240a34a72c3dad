"""The admission queue's order: a freed slot goes to the longest waiter, never to a newcomer."""

import threading
import time

import pytest

from serving.gateway.admission import Admission
from serving.gateway.errors import TooManyRequests


def test_slots_pass_to_waiters_in_arrival_order_and_newcomers_queue_behind():
    admission = Admission(max_in_flight=1, deadline_s=5)
    order = []
    holder = admission.slot()
    holder.__enter__()

    def wait(name):
        with admission.slot():
            order.append(name)

    waiters = []
    for name in ("first", "second", "third"):
        waiters.append(threading.Thread(target=wait, args=(name,)))
        waiters[-1].start()
        time.sleep(0.05)
    holder.__exit__(None, None, None)
    late = threading.Thread(target=wait, args=("newcomer",))
    late.start()
    for thread in [*waiters, late]:
        thread.join(5)
    assert order == ["first", "second", "third", "newcomer"]


def test_a_waiter_that_gives_up_leaves_no_ghost_to_swallow_the_slot():
    admission = Admission(max_in_flight=1, deadline_s=0.1)
    with (
        admission.slot(),
        pytest.raises(TooManyRequests, match="no slot freed within the deadline"),
        admission.slot(),
    ):
        pass
    with admission.slot():  # free again at once, not handed to the waiter that left
        pass
    assert admission._free == 1 and not admission._waiters
