"""Sending signed DNS messages to the server, over UDP or TCP, from this host or a container's namespace.

The I/O boundary of the provider: ``exchange`` returns the server's answer
whatever its rcode (judging it is ``verdicts.py``) and turns the ways a
message can fail to arrive into ``DnsTransient``, and a TSIG failure into
``TsigRejected``. Messages arrive unsigned and are signed here, just
before they leave, by the target's signer (``rfc2136/signer.py``).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import dns.exception
import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TSIG
import dns.tsig

from dockernet.errors import DnsTransient, TsigRejected
from dockernet.rfc2136.target import DnsTarget
from dockernet.rfc2136.verdicts import TSIG_ERRORS, tsig_rejection
from dockernet.rfc2136.wire import octets

log = logging.getLogger("dockernet")
T = TypeVar("T")

#: the server's TSIG verdicts a renewed key may cure: it lost the key (restart, expiry), so it applied nothing.
#: Not an answer that fails our own check ("TSIG"): the server may have applied that message
RENEWABLE = frozenset({"BADKEY", "BADSIG"})


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
    target: DnsTarget,
    message: dns.message.Message,
    tcp: bool = False,
    source_ns: str | None = None,
    signed: bool = True,
) -> dns.message.Message:
    """Send ``message``, signed by the target's signer (unless ``signed`` is False), and return the answer.

    From ``source_ns`` when given (over UDP). A negotiated key the server
    rejects (BADKEY, BADSIG: it forgot the key) is renewed and the message
    signed and sent again, once (``with_renewal``).
    """
    if not signed or target.key is None:
        return _send(target, message, tcp, source_ns)

    def signed_send(key: dns.tsig.Key) -> dns.message.Message:
        message.use_tsig(key, keyname=key.name)
        return _send(target, message, tcp, source_ns)

    return with_renewal(target, signed_send)


def exchange_unsigned(target: DnsTarget, message: dns.message.Message) -> dns.message.Message:
    """Send an unsigned message over TCP (a TKEY negotiation, the SOA it needs first)."""
    return exchange(target, message, tcp=True, signed=False)


def with_renewal(target: DnsTarget, attempt: Callable[[dns.tsig.Key], T]) -> T:
    """``attempt(key)`` with the signer's key for the target; once more with a renewed key if it was rejected."""
    signer = target.key
    assert signer is not None
    try:
        return attempt(signer.key_for(target))
    except TsigRejected as exc:
        if exc.code not in RENEWABLE or not signer.renew(target):
            raise
        log.info("%s rejected the key of %s (%s): negotiating a new one", target.where, signer.identity, exc.code)
    return attempt(signer.key_for(target))


def _send(target: DnsTarget, message: dns.message.Message, tcp: bool, source_ns: str | None) -> dns.message.Message:
    with _delivery(target):
        if source_ns:
            family = socket.AF_INET6 if ":" in target.server else socket.AF_INET
            with socket_in_namespace(source_ns, family) as sock:
                return dns.query.udp(message, target.server, timeout=target.timeout, port=target.port, sock=sock)
        if tcp:
            return dns.query.tcp(message, target.server, timeout=target.timeout, port=target.port)
        response, _ = dns.query.udp_with_fallback(message, target.server, timeout=target.timeout, port=target.port)
        return response


@contextmanager
def _delivery(target: DnsTarget) -> Iterator[None]:
    """The ways a message can fail to arrive, as ``DnsTransient``; a TSIG failure as ``TsigRejected``."""
    try:
        yield
    except (TimeoutError, dns.exception.Timeout):
        raise DnsTransient(f"no answer from {target.where} within {target.timeout:g} s") from None
    except TSIG_ERRORS as exc:
        raise tsig_rejection(exc, target) from None
    except OSError as exc:
        raise DnsTransient(f"cannot reach {target.where}: {exc.strerror or exc}") from None
    except dns.exception.DNSException as exc:
        raise DnsTransient(f"bad answer from {target.where}: {exc}") from None


def exchange_wire(target: DnsTarget, wire: bytes) -> dns.message.Message:
    """Send an UPDATE rendered elsewhere (``wire.pack``) over TCP, signed as ``exchange`` signs, and return the answer.

    A negotiated key the server rejects is renewed and the message sent
    again once, as in ``exchange``.
    """
    if target.key is None:
        return _send_wire(target, wire, None)
    return with_renewal(target, lambda key: _send_wire(target, wire, key))


def sign_wire(wire: bytes, key: dns.tsig.Key, now: int | None = None) -> tuple[bytes, bytes]:
    """``wire`` with its TSIG record appended (RFC 8945, as dnspython signs a message), and the record's MAC,
    which the answer's signature covers."""
    (message_id,) = struct.unpack_from("!H", wire)
    unsigned = dns.rdtypes.ANY.TSIG.TSIG(
        dns.rdataclass.ANY, dns.rdatatype.TSIG, key.algorithm, 0, 300, b"", message_id, 0, b""
    )
    tsig, _ = dns.tsig.sign(wire, key, unsigned, int(time.time()) if now is None else now)
    rdata = octets(tsig)
    record = octets(key.name) + struct.pack("!HHIH", dns.rdatatype.TSIG, dns.rdataclass.ANY, 0, len(rdata)) + rdata
    (additional,) = struct.unpack_from("!H", wire, 10)
    return wire[:10] + struct.pack("!H", additional + 1) + wire[12:] + record, tsig.mac


def _send_wire(target: DnsTarget, wire: bytes, key: dns.tsig.Key | None) -> dns.message.Message:
    mac = b""
    if key is not None:
        wire, mac = sign_wire(wire, key)
    with _delivery(target):
        if len(wire) > 65535:
            raise dns.exception.TooBig(f"an UPDATE of {len(wire)} octets")
        deadline = time.monotonic() + target.timeout  # for the whole exchange, as dns.query.tcp's
        with socket.create_connection((target.server, target.port), timeout=target.timeout) as sock:
            sock.sendall(struct.pack("!H", len(wire)) + wire)
            (length,) = struct.unpack("!H", _receive(sock, 2, deadline))
            answer = dns.message.from_wire(_receive(sock, length, deadline), keyring=key, request_mac=mac)
        if answer.id != struct.unpack_from("!H", wire)[0] or not answer.flags & dns.flags.QR:
            raise dns.exception.DNSException("the answer is not to this message")
        if answer.opcode() != dns.opcode.UPDATE:
            raise dns.exception.DNSException("the answer is not to an UPDATE")
        return answer


def _receive(sock: socket.socket, count: int, deadline: float) -> bytes:
    data = b""
    while len(data) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        sock.settimeout(left)
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise dns.exception.DNSException("the server closed the connection mid-answer")
        data += chunk
    return data


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
