"""The rootless beds themselves: each engine answers, says it is rootless, runs a container with a published port.

What dockernet's engine adapter relies on is asserted here, on the real
engines: the engine says it is rootless (Docker: ``/info`` ``SecurityOptions``
has ``name=rootless``; Podman 4.3: only ``/libpod/info``), a published
port is in inspect's ``NetworkSettings.Ports`` and reachable at the host's
address, and ``State.Pid`` names a process root can see, in a network
namespace that is the engine's own (slirp4netns / RootlessKit), not the
host's.
"""

import os
import socket

import pytest

from dockernet.rfc2136.transport import socket_in_namespace
from tests.harness import started_containers, wait_for

ENGINES = ["rootless_podman", "rootless_dockerd"]


@pytest.fixture(params=ENGINES)
def engine(request):
    return request.getfixturevalue(request.param)


@pytest.fixture
def started(engine):
    """Containers of one test on ``engine`` (hostname = name), removed afterwards by id."""
    with started_containers(engine) as start:
        yield lambda name, **kwargs: start(name, name, **kwargs)


def test_engine_answers_version_and_info(engine):
    version = engine.client.version()
    info = engine.client.info()
    assert version["ApiVersion"] and version["Version"]
    assert info["ID"]


def test_rootless_dockerd_says_rootless_in_info_security_options(rootless_dockerd):
    assert "name=rootless" in rootless_dockerd.client.info()["SecurityOptions"]


def test_rootless_podman_says_rootless_in_libpod_info(rootless_podman):
    """Podman 4.3's compat ``/info`` has only ``name=seccomp,profile=default`` in SecurityOptions (measured):
    rootless shows in ``/libpod/info`` ``host.security.rootless``."""
    api = rootless_podman.client.api
    libpod = api._result(api._get(api.base_url + "/v4.0.0/libpod/info"), True)
    assert libpod["host"]["security"]["rootless"] is True


def test_engine_runs_as_the_test_user(engine):
    """The engine's process is the unprivileged user's, so everything it starts is too."""
    status = open(f"/proc/{engine.proc.pid}/status").read()
    uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    assert uid_line.split()[1:] == [str(engine.user.uid)] * 4


def test_published_port_is_in_inspect_and_reachable_at_the_host_address(engine, started, label):
    container = started(
        label, ports={"80/tcp": 8080}, command=["/bin/busybox", "httpd", "-f", "-p", "80", "-h", "/bin"]
    )
    container.reload()
    ports = container.attrs["NetworkSettings"]["Ports"]
    assert {binding["HostPort"] for binding in ports["80/tcp"]} == {"8080"}, ports

    def answer() -> bytes:
        with socket_in_namespace(f"/var/run/netns/{engine.netns}", socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            try:
                sock.connect((engine.host_address, 8080))
                sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
                return sock.recv(64)
            except OSError:
                return b""

    reply = wait_for(answer, 20, 0.2)
    assert reply.startswith(b"HTTP/1."), reply


def test_container_pid_is_visible_from_root_in_a_namespace_not_the_hosts(engine, started, label):
    container = started(label)
    container.reload()
    pid = container.attrs["State"]["Pid"]
    assert pid > 0 and os.path.exists(f"/proc/{pid}")
    container_net = os.readlink(f"/proc/{pid}/ns/net")
    assert container_net != os.readlink("/proc/self/ns/net")
    engine_net = os.stat(f"/var/run/netns/{engine.netns}")
    assert os.stat(f"/proc/{pid}/ns/net").st_ino != engine_net.st_ino  # slirp4netns/RootlessKit's, not the test's
