"""gunicorn settings for the gateway (production mode): gevent workers (a slow client costs a
greenlet, not a thread: no slowloris starvation without a buffering proxy), JSON logs from the
app (gunicorn's own access log off; its error log through the same JSON formatter as every
process, serving/logs.py), Prometheus metrics shared across workers.

The values come from the gateway's settings object (serving/gateway/settings.py lists the
variables): GATEWAY_HOST, GATEWAY_PORT, GATEWAY_WORKERS, GATEWAY_WORKER_CLASS,
GATEWAY_WORKER_CONNECTIONS, GATEWAY_THREADS, GATEWAY_TIMEOUT_S, GATEWAY_GRACEFUL_TIMEOUT_S.
"""

import os
import shutil
import tempfile

from serving import logs
from serving.gateway.settings import GatewaySettings

_settings = GatewaySettings.from_env()
bind = f"{_settings.host}:{_settings.port}"
workers = _settings.workers
worker_class = f"serving.gateway.workers.{_settings.worker_class.capitalize()}"
worker_connections = _settings.worker_connections
threads = _settings.threads
timeout = _settings.timeout_s
graceful_timeout = _settings.graceful_timeout_s
keepalive = 5
preload_app = False
accesslog = None
logconfig_dict = logs.dict_config(_settings.log_level)
proc_name = "seqserve-gateway"
control_socket_disable = True  # gunicornc is not used; gateways would share ~/.gunicorn's socket

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
