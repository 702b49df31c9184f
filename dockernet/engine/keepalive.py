"""The inspect hot path: one keep-alive HTTP/1.1 connection per thread for ``GET /containers/{id}/json``.

Inspecting containers is the watcher's hot path (once per event, and once
per container at start-up). docker-py's per-request overhead dominated it
(1.09 s for 500 containers over the socket), and so did ``http.client``'s
(0.22-0.26 s: it parses every answer's headers with the ``email`` package).
A GET written whole and its answer read by its own framing (a length, or
chunks) takes 0.16 s for the same 500, of which 0.03 s is decoding the JSON.
Each thread has its own connection, so inspectors never wait for each other.
Anything unusual (an error, a status other than 200 or 404, framing that
does not add up) closes the connection and is left to docker-py.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO

from dockernet.engine.address import unix_socket_path

if TYPE_CHECKING:
    import docker.tls

#: what ``KeepAliveInspect.get`` returns when docker-py should answer instead
ASK_DOCKER_PY = False
#: a status, header or chunk-size line longer than this is no answer to trust
LINE_MAX = 64 * 1024
#: an answer larger than this is left to docker-py (labels, the container's to choose, make it grow)
BODY_MAX = 64 * 1024 * 1024


class Malformed(Exception):
    """The engine's answer does not parse as HTTP/1.1: the connection cannot be reused."""


def ssl_context(tls: docker.tls.TLSConfig) -> ssl.SSLContext:
    """The same trust the docker-py client has, for the keep-alive inspect connection."""
    context = ssl.create_default_context(cafile=tls.ca_cert if tls.verify else None)
    if not tls.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if tls.cert:
        context.load_cert_chain(*tls.cert)
    return context


class Connection:
    """One keep-alive HTTP/1.1 connection that GETs paths; opened on first use."""

    def __init__(self, connect: Callable[[], socket.socket], host: str):
        self._connect = connect
        self.host = host
        self.sock: socket.socket | None = None
        self._reader: BinaryIO | None = None

    def get(self, path: str) -> tuple[int, bytes]:
        """The status and body of ``GET path``; raises ``OSError`` or ``Malformed`` (then the connection is closed)."""
        if not (path.isascii() and path.isprintable()) or " " in path:
            raise Malformed(f"request path {path!r}")
        try:
            if self.sock is None or self._reader is None:
                self.sock = self._connect()
                self._reader = self.sock.makefile("rb")
            self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode("ascii"))
            status, headers = read_head(self._reader)
            body = read_body(self._reader, status, headers)
        except BaseException:  # whatever happened mid-answer, the rest of it must not be read as the next
            self.close()
            raise
        if ends_connection(status, headers):
            self.close()
        return status, body

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
        if self.sock is not None:
            self.sock.close()
        self.sock, self._reader = None, None


def _line(reader: BinaryIO) -> bytes:
    line = reader.readline(LINE_MAX + 1)
    if len(line) > LINE_MAX or not line.endswith(b"\n"):
        raise Malformed("line too long, or the connection closed mid-answer")
    return line.rstrip(b"\r\n")


def read_head(reader: BinaryIO) -> tuple[int, dict[str, str]]:
    """The status code and the headers (names in lower case) of one HTTP/1.1 answer."""
    version, _, rest = _line(reader).partition(b" ")
    code = rest[:3]
    if not version.startswith(b"HTTP/1.") or not code.isdigit() or code.startswith(b"1"):
        raise Malformed(f"not an HTTP/1 final answer: {version!r} {code!r}")
    headers: dict[str, str] = {}
    while line := _line(reader):
        name, colon, value = line.partition(b":")
        if not colon:
            raise Malformed("header line without a colon")
        headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    return int(code), headers


def ends_connection(status: int, headers: dict[str, str]) -> bool:
    """Whether the answer closed the connection: said so, or had no length to end it otherwise."""
    unframed = "transfer-encoding" not in headers and "content-length" not in headers and status not in (204, 304)
    return unframed or headers.get("connection", "").lower() == "close"


def read_body(reader: BinaryIO, status: int, headers: dict[str, str]) -> bytes:
    """The body framed as ``headers`` say: chunked, a length, nothing (204, 304), or up to the connection's end."""
    if "transfer-encoding" in headers:
        if headers["transfer-encoding"].lower() != "chunked":
            raise Malformed(f"transfer coding {headers['transfer-encoding']!r}")
        return _read_chunks(reader)
    if "content-length" in headers:
        length = headers["content-length"]
        if not (length.isascii() and length.isdigit()) or int(length) > BODY_MAX:
            raise Malformed(f"content length {length!r}")
        return _read_exactly(reader, int(length))
    if status in (204, 304):
        return b""
    body = reader.read(BODY_MAX + 1)
    if len(body) > BODY_MAX:
        raise Malformed("answer too large")
    return body


def _read_chunks(reader: BinaryIO) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        size_text = _line(reader).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise Malformed(f"chunk size {size_text!r}") from None
        if size == 0:
            while _line(reader):  # trailers, up to the empty line
                pass
            return b"".join(parts)
        total += size
        if size < 0 or total > BODY_MAX:
            raise Malformed("answer too large")
        parts.append(_read_exactly(reader, size))
        if _line(reader):
            raise Malformed("chunk longer than its size")


def _read_exactly(reader: BinaryIO, count: int) -> bytes:
    data = reader.read(count)
    if len(data) != count:
        raise Malformed("the connection closed mid-answer")
    return data


def open_connection(where: str, base_url: str, tls: docker.tls.TLSConfig | None, timeout: float) -> Connection | None:
    """A keep-alive connection to the engine at ``where`` (docker-py's ``base_url`` for it); None: none fits."""
    path = unix_socket_path(where)
    if path is not None:

        def connect_unix() -> socket.socket:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect(path)
            except OSError:
                sock.close()
                raise
            return sock

        return Connection(connect_unix, "localhost")
    url = urllib.parse.urlsplit(base_url)
    host = url.hostname
    if not host or url.scheme not in ("http", "https") or (url.scheme == "https" and tls is None):
        return None
    port = url.port or (2376 if url.scheme == "https" else 2375)
    context = ssl_context(tls) if url.scheme == "https" and tls is not None else None

    def connect_tcp() -> socket.socket:
        sock = socket.create_connection((host, port), timeout=timeout)
        if context is None:
            return sock
        try:
            return context.wrap_socket(sock, server_hostname=host)
        except OSError:
            sock.close()
            raise

    return Connection(connect_tcp, f"[{host}]:{port}" if ":" in host else f"{host}:{port}")


class KeepAliveInspect:
    """This thread's keep-alive connection, opened by ``connect`` on first use and after each error."""

    def __init__(self) -> None:
        self._local = threading.local()

    @property
    def connection(self) -> Connection | None:
        """This thread's connection; None until the first inspect and after an error."""
        return getattr(self._local, "connection", None)

    def close(self) -> None:
        """Close this thread's connection (other threads' connections reopen on error)."""
        connection = self.connection
        if connection is not None:
            connection.close()
            self._local.connection = None

    def get(self, path: str, connect: Callable[[], Connection | None]) -> dict | None | bool:
        """The JSON document at ``path``; None: not found (404); ``ASK_DOCKER_PY``: no answer to trust here.

        ``connect`` makes the connection (``open_connection``), called only
        when this thread has none.
        """
        connection = self.connection
        if connection is None:
            try:
                connection = connect()
            except (OSError, ValueError):
                connection = None
            self._local.connection = connection
            if connection is None:
                return ASK_DOCKER_PY
        try:
            status, body = connection.get(path)
        except (OSError, Malformed):
            self.close()
            return ASK_DOCKER_PY
        if status == 404:
            return None
        if status != 200:
            return ASK_DOCKER_PY
        try:
            document = json.loads(body)
        except ValueError:
            return ASK_DOCKER_PY
        return document if isinstance(document, dict) else ASK_DOCKER_PY
