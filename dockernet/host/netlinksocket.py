"""One netlink socket, in the host's namespace or in another one, and netlink's errors as dockernet's.

The socket is opened inside a network namespace when one is given, by
name (under /var/run/netns) or by path (``/proc/<pid>/ns/net``); this
process never moves, and a missing namespace is never created
(``flags=0``: pyroute2's default would make an empty one). pyroute2 is
imported here only when a socket is opened: ``dockernet --help`` and the
DNS commands do not pay for it.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dockernet.errors import DockernetError, NamespaceMissing, NetlinkFailed


@contextmanager
def netlink(netns: str | None = None) -> Iterator[Any]:
    """An ``IPRoute`` socket in the host namespace or in ``netns`` (a name under /var/run/netns or a path)."""
    from pyroute2 import IPRoute, NetlinkError  # start-up time: only commands that touch links load pyroute2

    try:
        ipr = IPRoute(netns=netns, flags=0) if netns else IPRoute()
    except FileNotFoundError:
        raise NamespaceMissing(f"network namespace {netns} does not exist") from None
    except (OSError, NetlinkError) as exc:
        raise netlink_error(exc, "open a netlink socket") from None
    try:
        yield ipr
    finally:
        ipr.close()


def netlink_error(exc: Exception, doing: str) -> DockernetError:
    """A failed netlink request (or socket) as one sentence; a permission error says to run as root."""
    code = getattr(exc, "code", None) or getattr(exc, "errno", None)
    if code in (errno.EPERM, errno.EACCES):
        return NetlinkFailed(f"not allowed to {doing}", hint="run as root (CAP_NET_ADMIN)")
    reason = errno.errorcode.get(code, "") if code else ""
    return NetlinkFailed(f"cannot {doing}: {exc}" + (f" ({reason})" if reason and reason not in str(exc) else ""))


def default_route_address(netns: str | None = None) -> str | None:
    """The address of the interface holding the default route (IPv4 first), or None without one.

    What other machines reach this host at, for ``--address host``: the
    route's preferred source when it names one, else the interface's first
    global address. Read from the routing table; nothing is sent.
    """
    with netlink(netns) as ipr:
        for family in (socket.AF_INET, socket.AF_INET6):
            for route in ipr.get_default_routes(family=family):
                if route.get("RTA_PREFSRC"):
                    return str(route.get("RTA_PREFSRC"))
                found = sorted(str(address.get("IFA_ADDRESS")) for address in ipr.get_addr(family=family)
                               if address["index"] == route.get("RTA_OIF") and address["scope"] == 0)
                if found:
                    return found[0]
    return None
