"""REST worker bound and timeout: --rest_api_num_threads, --rest_api_timeout_in_ms."""

import json
import threading
import time

from werkzeug.test import Client

from serving.modelserver.errors import DeadlineExceeded
from serving.modelserver.metrics import ServerMetrics
from serving.modelserver.rest_api import RestApi


class SlowCore:
    """Answers GetModelStatus slowly, as a busy model would."""

    def __init__(self, delay):
        self.delay = delay

    def status(self, spec):
        time.sleep(self.delay)
        return []


def test_a_request_waiting_past_the_timeout_for_a_worker_gets_504():
    app = RestApi(SlowCore(0.6), ServerMetrics(), timeout_seconds=0.2, max_concurrent=1)
    busy = threading.Thread(target=lambda: Client(app).get("/v1/models/m"))
    busy.start()
    time.sleep(0.05)
    response = Client(app).get("/v1/models/m")
    busy.join()
    assert response.status_code == 504
    assert json.loads(response.data) == {
        "error": "Deadline exceeded waiting for a free REST worker"
    }
    assert DeadlineExceeded.http_status == 504
