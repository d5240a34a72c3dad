"""gunicorn settings for the gateway (production mode): gevent workers (a slow client costs a
greenlet, not a thread: no slowloris starvation without a buffering proxy), JSON logs from the
app (gunicorn's own access log off), Prometheus metrics shared across workers.

Environment (default): GATEWAY_HOST (0.0.0.0), GATEWAY_PORT (8000), GATEWAY_WORKERS (2),
GATEWAY_WORKER_CLASS (gevent; gthread also works), GATEWAY_WORKER_CONNECTIONS (1000),
GATEWAY_THREADS (32, gthread only), GATEWAY_TIMEOUT_S (30), GATEWAY_GRACEFUL_TIMEOUT_S (20).
"""

import os
import shutil
import tempfile

bind = f"{os.environ.get('GATEWAY_HOST', '0.0.0.0')}:{os.environ.get('GATEWAY_PORT', '8000')}"
workers = int(os.environ.get("GATEWAY_WORKERS", "2"))
worker_class = os.environ.get("GATEWAY_WORKER_CLASS", "gevent")
worker_connections = int(os.environ.get("GATEWAY_WORKER_CONNECTIONS", "1000"))
threads = int(os.environ.get("GATEWAY_THREADS", "32"))
timeout = int(os.environ.get("GATEWAY_TIMEOUT_S", "30"))
graceful_timeout = int(os.environ.get("GATEWAY_GRACEFUL_TIMEOUT_S", "20"))
keepalive = 5
preload_app = False
accesslog = None
errorlog = "-"
loglevel = "warning"
proc_name = "seqserve-gateway"

_created_metrics_dir = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _created_metrics_dir = tempfile.mkdtemp(prefix="gateway-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _created_metrics_dir


def child_exit(server, worker):
    from prometheus_client import multiprocess  # only after PROMETHEUS_MULTIPROC_DIR is set

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _created_metrics_dir:
        shutil.rmtree(_created_metrics_dir, ignore_errors=True)
