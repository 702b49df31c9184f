"""The inspect hot path's HTTP/1.1 reading (``engine.keepalive``): framing the engine uses, and what is refused."""

import io
import socket
import threading

import pytest

from dockernet.engine.keepalive import (
    ASK_DOCKER_PY,
    LINE_MAX,
    Connection,
    KeepAliveInspect,
    Malformed,
    ends_connection,
    read_body,
    read_head,
)


def answer(raw: bytes):
    reader = io.BytesIO(raw)
    status, headers = read_head(reader)
    return status, headers, read_body(reader, status, headers), reader.read()


def test_a_chunked_answer_is_joined_and_the_next_answer_left_unread():
    raw = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    raw += b'5\r\n{"Id"\r\n7;ext=1\r\n: "abc"\r\n1\r\n}\r\n0\r\n\r\nHTTP/1.1 404'
    status, headers, body, rest = answer(raw)
    assert (status, body, rest) == (200, b'{"Id": "abc"}', b"HTTP/1.1 404")
    assert headers["content-type"] == "application/json" and not ends_connection(status, headers)


def test_a_length_framed_answer_and_its_trailing_bytes():
    status, headers, body, rest = answer(b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}next")
    assert (status, body, rest) == (404, b"{}", b"next") and not ends_connection(status, headers)


def test_an_answer_without_a_length_ends_with_the_connection():
    status, headers, body, _ = answer(b"HTTP/1.0 200 OK\r\n\r\n{}")
    assert body == b"{}" and ends_connection(status, headers)
    status, headers, _, _ = answer(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    assert ends_connection(status, headers)


@pytest.mark.parametrize(
    "raw",
    [
        b"SSH-2.0-OpenSSH\r\n\r\n",  # not HTTP
        b"HTTP/1.1 100 Continue\r\n\r\n",  # an interim answer is not the answer
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\n\r\n",  # a digit to str.isdigit, not to int()
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",  # the connection closed mid-answer
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",  # longer than its size
        b"HTTP/1.1 200 OK\r\nX: " + b"a" * LINE_MAX + b"\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5",  # no end of the head
    ],
)
def test_framing_that_does_not_add_up_is_malformed(raw):
    with pytest.raises(Malformed):
        answer(raw)


def serve(answers: list[bytes]):
    """A one-connection server on a unix socket pair: each request is answered with the next of ``answers``."""
    ours, theirs = socket.socketpair()
    seen: list[bytes] = []

    def run():
        with theirs, theirs.makefile("rb") as reader:
            for raw in answers:
                request = b""
                while not request.endswith(b"\r\n\r\n"):
                    line = reader.readline()
                    if not line:
                        return
                    request += line
                seen.append(request)
                theirs.sendall(raw)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return ours, seen, thread


def test_one_connection_serves_many_inspects_and_a_bad_answer_is_left_to_docker_py():
    ok = b'HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{"Id": "a"}'
    gone = b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}"
    sock, seen, thread = serve([ok, gone, b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n", b"garbage\r\n\r\n"])
    opened = []
    inspect = KeepAliveInspect()

    def connect():
        opened.append(1)
        return Connection(lambda: sock, "localhost")

    assert inspect.get("/v1.41/containers/a/json", connect) == {"Id": "a"}
    assert inspect.get("/v1.41/containers/b/json", connect) is None
    assert inspect.get("/v1.41/containers/c/json", connect) is ASK_DOCKER_PY  # an error status: docker-py says
    assert inspect.connection is not None and len(opened) == 1  # kept open across all three
    assert inspect.get("/v1.41/containers/d/json", connect) is ASK_DOCKER_PY
    assert inspect.connection is None  # malformed: closed, the next inspect opens a new one
    assert inspect.get("/v1.41/containers/a b/json", connect) is ASK_DOCKER_PY  # no such request is written
    thread.join(timeout=5)
    assert seen[0] == b"GET /v1.41/containers/a/json HTTP/1.1\r\nHost: localhost\r\n\r\n"
