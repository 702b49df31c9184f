"""Sending signed DNS messages to the server, over UDP or TCP, from this host or a container's namespace.

The I/O boundary of the provider: ``exchange`` returns the server's answer
whatever its rcode (judging it is ``verdicts.py``) and turns the ways a
message can fail to arrive into ``DnsTransient``, and a TSIG failure into
``TsigRejected``.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading

import dns.exception
import dns.message
import dns.query

from dockernet.errors import DnsTransient
from dockernet.rfc2136.target import DnsTarget
from dockernet.rfc2136.verdicts import TSIG_ERRORS, tsig_rejection


def socket_in_namespace(path: str, family: int, kind: int = socket.SOCK_DGRAM) -> socket.socket:
    """A socket created inside the network namespace at ``path``; this process never moves.

    setns(2) switches only the calling thread, and a socket keeps the
    namespace it was made in, so a short-lived thread enters, makes the
    socket and ends. The namespace is opened here and handed to setns as a
    descriptor: so it is never created, and pyroute2 does not list the
    path's directory (/proc/<pid>/ns, which only its owner may read), so
    CAP_SYS_ADMIN and CAP_SYS_PTRACE are all an unprivileged user needs.
    """
    from pyroute2 import netns  # only --send-from container needs pyroute2 here: keep it off the start-up path

    made: dict = {}

    def enter_and_make() -> None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                netns.setns(fd, flags=0)
            finally:
                os.close(fd)
            sock = socket.socket(family, kind)
            sock.setblocking(False)  # dnspython's timeouts only work on non-blocking sockets
            made["socket"] = sock
        except OSError as exc:
            made["error"] = exc

    worker = threading.Thread(target=enter_and_make, name="netns-socket")
    worker.start()
    worker.join()
    if "error" in made:
        raise DnsTransient(f"cannot open a socket in {path}: {made['error'].strerror or made['error']}")
    return made["socket"]


def exchange(
    target: DnsTarget, message: dns.message.Message, tcp: bool = False, source_ns: str | None = None
) -> dns.message.Message:
    """Send ``message`` to the target's server and return its answer (from ``source_ns`` when given, over UDP)."""
    try:
        if source_ns:
            family = socket.AF_INET6 if ":" in target.server else socket.AF_INET
            with socket_in_namespace(source_ns, family) as sock:
                return dns.query.udp(message, target.server, timeout=target.timeout, port=target.port, sock=sock)
        if tcp:
            response = dns.query.tcp(message, target.server, timeout=target.timeout, port=target.port)
        else:
            response, _ = dns.query.udp_with_fallback(message, target.server, timeout=target.timeout, port=target.port)
    except dns.exception.Timeout:
        raise DnsTransient(f"no answer from {target.where} within {target.timeout:g} s") from None
    except TSIG_ERRORS as exc:
        raise tsig_rejection(exc, target) from None
    except OSError as exc:
        raise DnsTransient(f"cannot reach {target.where}: {exc.strerror or exc}") from None
    except dns.exception.DNSException as exc:
        raise DnsTransient(f"bad answer from {target.where}: {exc}") from None
    return response


def resolve_server(server: str) -> str:
    """An address for ``server``, which may be an IP literal or a host name."""
    try:
        return str(ipaddress.ip_address(server))
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(server, None, proto=socket.IPPROTO_UDP)
    except socket.gaierror as exc:
        raise DnsTransient(f"cannot resolve DNS server name '{server}': {exc.strerror}") from None
    return str(infos[0][4][0])
