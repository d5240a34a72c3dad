"""The admission queue's order: a freed slot goes to the longest waiter, never to a newcomer;
waits spend the request's deadline."""

import threading

import pytest

from serving.gateway.admission import Admission
from serving.gateway.errors import TooManyRequests
from tests.support.waiting import wait_until


def test_slots_pass_to_waiters_in_arrival_order_and_newcomers_queue_behind():
    admission = Admission(max_in_flight=1)
    order = []
    holder = admission.slot(5)
    holder.__enter__()

    def wait(name):
        with admission.slot(30):
            order.append(name)

    waiters = []
    for count, name in enumerate(("first", "second", "third"), 1):
        waiters.append(threading.Thread(target=wait, args=(name,)))
        waiters[-1].start()
        wait_until(lambda count=count: len(admission._waiters) == count, what=f"{name} queued")
    holder.__exit__(None, None, None)
    late = threading.Thread(target=wait, args=("newcomer",))
    late.start()
    for thread in [*waiters, late]:
        thread.join(30)
    assert order == ["first", "second", "third", "newcomer"]


def test_a_waiter_that_gives_up_leaves_no_ghost_to_swallow_the_slot():
    admission = Admission(max_in_flight=1)
    with (
        admission.slot(5),
        pytest.raises(TooManyRequests, match="no slot freed within the deadline"),
        admission.slot(0.1),
    ):
        pass
    with admission.slot(5):  # free again at once, not handed to the waiter that left
        pass
    assert admission._free == 1 and not admission._waiters


def test_a_wait_longer_than_the_deadline_leaves_is_refused_at_once():
    admission = Admission(max_in_flight=1, initial_service_s=1.0)
    with (
        admission.slot(5),
        pytest.raises(TooManyRequests, match=r"expected wait .* exceeds what is left"),
        admission.slot(0.5),
    ):
        pass
    assert not admission._waiters
