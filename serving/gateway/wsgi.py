"""The WSGI entry point gunicorn loads in each worker: `serving.gateway.wsgi:app`."""

import os

from gevent import monkey

if monkey.is_module_patched("socket"):  # a gevent worker: gRPC must cooperate with it
    import grpc.experimental.gevent as grpc_gevent

    grpc_gevent.init_gevent()

from serving.gateway.access import configure_logging
from serving.gateway.app import create_app
from serving.gateway.settings import GatewaySettings

configure_logging(os.environ.get("GATEWAY_LOG_LEVEL", "INFO"))
app = create_app(GatewaySettings.from_env())
