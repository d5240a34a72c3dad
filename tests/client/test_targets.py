"""client/targets.py: TFS_TARGET as one address, a list of replicas, or a gRPC target URI
(the forms gRPC's naming document, doc/naming.md, lists: dns:, ipv4:, ipv6:, unix:)."""

from __future__ import annotations

import pytest

from client.targets import channel_target, replicas

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("target", "channel", "listed"),
    [
        ("localhost:8500", "localhost:8500", ["localhost:8500"]),
        (
            "127.0.0.1:8500,localhost:8510",
            "ipv4:127.0.0.1:8500,127.0.0.1:8510",
            ["127.0.0.1:8500", "localhost:8510"],
        ),
        (" 10.0.0.1:8500 , 10.0.0.2:8500 ", "ipv4:10.0.0.1:8500,10.0.0.2:8500", None),
        ("[::1]:8500,[::1]:8510", "ipv6:[::1]:8500,[::1]:8510", ["[::1]:8500", "[::1]:8510"]),
        ("ipv4:10.0.0.1:1,10.0.0.2:2", "ipv4:10.0.0.1:1,10.0.0.2:2", ["10.0.0.1:1", "10.0.0.2:2"]),
        ("dns:///localhost:8500", "dns:///localhost:8500", None),
        ("unix:/run/tfs.sock", "unix:/run/tfs.sock", ["unix:/run/tfs.sock"]),
    ],
)
def test_targets_become_channel_targets_and_replica_lists(target, channel, listed):
    assert channel_target(target) == channel
    if listed is not None:
        assert replicas(target) == listed


def test_a_dns_target_lists_the_addresses_its_name_resolves_to():
    assert "127.0.0.1:8500" in replicas("dns:///localhost:8500")


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("127.0.0.1:8500,[::1]:8510", "mixes IPv4 and IPv6"),
        ("127.0.0.1,127.0.0.2:8500", "expected host:port"),
        ("no-such-host.invalid:8500,127.0.0.1:8510", "cannot resolve no-such-host.invalid"),
    ],
)
def test_a_list_that_cannot_be_a_channel_target_is_refused_with_why(target, why):
    with pytest.raises(ValueError, match=why):
        channel_target(target)
