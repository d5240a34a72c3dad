"""gunicorn settings for the gateway (production mode): gevent workers (a slow client costs a
greenlet, not a thread: no slowloris starvation without a buffering proxy), JSON logs from the
app (gunicorn's own access log off), Prometheus metrics shared across workers.

The values come from the gateway's settings object (serving/gateway/settings.py lists the
variables): GATEWAY_HOST, GATEWAY_PORT, GATEWAY_WORKERS, GATEWAY_WORKER_CLASS,
GATEWAY_WORKER_CONNECTIONS, GATEWAY_THREADS, GATEWAY_TIMEOUT_S, GATEWAY_GRACEFUL_TIMEOUT_S.
"""

import os
import shutil
import tempfile

from serving.gateway.settings import GatewaySettings

_settings = GatewaySettings.from_env()
bind = f"{_settings.host}:{_settings.port}"
workers = _settings.workers
worker_class = _settings.worker_class
worker_connections = _settings.worker_connections
threads = _settings.threads
timeout = _settings.timeout_s
graceful_timeout = _settings.graceful_timeout_s
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
