"""The WSGI entry point gunicorn loads in each worker: `serving.gateway.wsgi:app`."""

from gevent import monkey

if monkey.is_module_patched("socket"):  # a gevent worker: gRPC must cooperate with it
    import grpc.experimental.gevent as grpc_gevent

    grpc_gevent.init_gevent()

from serving import logs
from serving.gateway.app import create_app
from serving.gateway.settings import GatewaySettings
from serving.gateway.workers import honour_connection_close

settings = GatewaySettings.from_env()
logs.configure(settings.log_level)
app = honour_connection_close(create_app(settings))
