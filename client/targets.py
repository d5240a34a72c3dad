"""Where the model servers are. TFS_TARGET names one server (`host:port`), several replicas
(`host:port,host:port`), or any gRPC target URI (`dns:///tfserving-headless:8500`, a headless
Service whose name resolves to every ready pod; `ipv4:10.0.0.1:8500,10.0.0.2:8500`). The
channel balances over them with gRPC's own `round_robin` (see client.grpc_client); this module
turns the setting into the channel's target and into the list of replicas to report on.

A comma-separated list is resolved once, when the channel is made (gRPC's `ipv4:`/`ipv6:`
targets take addresses, not names); for replicas that come and go, use `dns:///`, which gRPC
re-resolves itself.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from client.errors import InvalidInput

ADDRESS_LISTS = ("ipv4:", "ipv6:")


def channel_target(target: str) -> str:
    """The gRPC target for `target`: a list of host:port becomes an `ipv4:` (or `ipv6:`) list
    of resolved addresses; one address or a URI stays as it is. InvalidInput (a ValueError)
    names a target that is empty, malformed or does not resolve."""
    addresses = _listed(target)
    if addresses == []:
        raise InvalidInput(f"target {target!r}: empty; expected host:port, a list or a gRPC URI")
    if addresses is None or (len(addresses) == 1 and not target.startswith(ADDRESS_LISTS)):
        return target.strip()
    resolved = [_resolve(address) for address in addresses]
    families = {family for family, _ in resolved}
    if families == {socket.AF_INET}:
        return "ipv4:" + ",".join(address for _, address in resolved)
    if families == {socket.AF_INET6}:
        return "ipv6:" + ",".join(address for _, address in resolved)
    raise InvalidInput(f"{target!r}: mixes IPv4 and IPv6 replicas; list one family")


def replicas(target: str) -> list[str]:
    """Each replica's own address (host:port), for asking every one how it is: the list's
    items, the addresses a `dns:///` name resolves to now, or the target itself."""
    addresses = _listed(target)
    if addresses is not None:
        return addresses
    if target.startswith("dns:"):
        host_port = urlsplit(target).path.lstrip("/")
        host, port = _split(host_port)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            return [host_port]
        found = sorted({_join(str(info[4][0]), port) for info in infos})
        return found or [host_port]
    return [target.strip()]


def _listed(target: str) -> list[str] | None:
    """The addresses of a comma-separated list or an ipv4:/ipv6: target; None for a URI."""
    body = target.strip()
    for scheme in ADDRESS_LISTS:
        if body.startswith(scheme):
            return [part.strip() for part in body[len(scheme) :].split(",") if part.strip()]
    if "://" in body or body.startswith(("dns:", "unix:", "unix-abstract:", "vsock:")):
        return None
    return [part.strip() for part in body.split(",") if part.strip()]


def _split(address: str) -> tuple[str, str]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise InvalidInput(f"{address!r}: expected host:port")
    return host.strip("[]"), port


def _join(host: str, port: str) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _resolve(address: str) -> tuple[int, str]:
    host, port = _split(address)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise InvalidInput(f"{address!r}: cannot resolve {host} ({error})") from None
    ipv4 = [info for info in infos if info[0] == socket.AF_INET]
    family, *_, sockaddr = (ipv4 or infos)[0]
    return family, _join(str(sockaddr[0]), port)
