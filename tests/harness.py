"""Real components for the integration tests and the benchmark.

* ``PrivateDockerd``: a dockerd of its own inside a network namespace the
  harness creates (``nsenter --net=``, not ``ip netns exec``, which remounts
  /sys and hides the cgroup mounts from dockerd). Its bridge, addresses and
  routes exist only in that namespace; it never touches the host's
  firewall (``--iptables=false --ip-masq=false``).
* ``PrivateNamed``: named provisioned by ``dockernet dns init`` on 127.0.0.1
  and a free high port.
* ``WatcherProcess``: ``python -m dockernet watch`` as a real process.

Everything lives under ``/tmp/dnt-<pid>`` and namespace ``dnt-<pid>``; what
an interrupted earlier run left behind is found by that pid (no longer
alive) and removed. Processes are ended by PID, never by name.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.update

from dockernet.pidfile import process_alive

REPO = Path(__file__).resolve().parent.parent
PREFIX = "dnt-"
IMAGE = "dockernet-test/busybox:latest"
ZONE = "docker.test"
SUBNET = "10.1.0.0/16"
SUBNET6 = "fd00:d0c::/64"
BRIDGE_IP = "10.1.0.1/16"
REQUIRED_TOOLS = ("dockerd", "named", "nsenter", "ip", "busybox", "openssl")

T = TypeVar("T")


def need(what: str, present: bool | None = None, made_by: str = "scripts/install-deps --test") -> None:
    """Skip a test whose tool (on PATH, unless ``present`` says) or file is missing; under CI=true fail it.

    CI installs everything the tests use, so there a missing part is the install's defect, not a reason to skip.
    """
    import pytest  # the harness also serves bench/, which runs without pytest's fixtures

    if present is None:
        present = shutil.which(what) is not None
    if not present:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{what} is missing under CI ({made_by} installs it)")
        pytest.skip(f"needs {what} ({made_by})")


def missing_tools() -> list[str]:
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if os.geteuid() != 0:
        missing.append("root")
    return missing


def wait_for(probe: Callable[[], T], timeout: float = 10.0, interval: float = 0.02) -> T:
    """Poll ``probe`` until it returns something truthy or time runs out; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def free_port() -> int:
    """A port free on 127.0.0.1 for both UDP and TCP (named listens on both)."""
    for _ in range(200):
        port = random.randint(20000, 60000)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, socket.socket() as tcp:
                udp.bind(("127.0.0.1", port))
                tcp.bind(("127.0.0.1", port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port on 127.0.0.1")


def _pid_is(pid: int, program: str) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == program
    except OSError:
        return False


def stop_pid(pid: int, timeout: float = 20.0) -> None:
    """SIGTERM, wait, then SIGKILL: by PID only."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    if not wait_for(lambda: not process_alive(pid) or _zombie(pid), timeout, 0.05):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def end_child(proc: subprocess.Popen | None) -> None:
    """End a server this run started, by its pid, and reap it; returns None for its ``proc`` attribute."""
    if proc is not None:
        stop_pid(proc.pid)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    return None


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except (OSError, IndexError):
        return True


def _unmount_below(path: Path) -> None:
    prefix = str(path)
    with open("/proc/mounts") as handle:
        points = [line.split()[1] for line in handle if line.split()[1].startswith(prefix)]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], check=False, capture_output=True)


@contextlib.contextmanager
def tmpfs(path: Path, options: str):
    """A tmpfs mounted at ``path`` (e.g. ``size=64k``, ``ro,size=64k``) for the block; always unmounted after
    (lazily: a process that still holds it cannot keep it mounted). ``remove_run_dir`` sweeps up after a crash."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(directory: Path) -> Path:
    """Write one file into ``directory`` until its filesystem is full (ENOSPC); returns it (unlink it to clear)."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass  # ENOSPC: full
    finally:
        os.close(fd)
    return filler


def make_netns(name: str) -> None:
    """A throwaway network namespace with loopback up."""
    if not _netns_exists(name):
        subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)


def delete_netns(name: str) -> None:
    if _netns_exists(name):
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)


def ip(*args: str) -> str:
    """Run ``ip`` for test set-up (never parsed by dockernet itself)."""
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True).stdout


def _netns_exists(name: str) -> bool:
    return Path("/var/run/netns", name).exists()


def remove_run_dir(base: Path, netns: str) -> None:
    """Remove what one run made: its daemons (by pid file), mounts, files and namespace."""
    pidfiles = [(path, "dockerd") for path in base.glob("**/docker.pid")]
    pidfiles += [(path, "named") for path in base.glob("**/named.pid")]
    pidfiles += [(path, "python") for path in base.glob("watchers/*/*.pid")]
    pidfiles += [(path, "podman") for path in base.glob("**/podman.pid")]
    pidfiles += [(path, "krb5kdc") for path in base.glob("**/krb5kdc.pid")]
    pidfiles += [
        (path, "samba") for path in base.glob("**/samba-master.pid")
    ]  # its PID namespace's init (tests/samba.py)
    pidfiles += [(path, name) for path in base.glob("*/rootless-engine.pid") for name in ("podman", "rootlesskit")]
    for path, program in pidfiles:
        try:
            pid = int(path.read_text().strip())
        except (OSError, ValueError):
            continue
        if _pid_is(pid, program) or (program == "python" and _pid_is(pid, "python3")):
            stop_pid(pid)
    for path in base.glob("*/rootless.uid"):  # a uid no host file names: its pause process, conmon, slirp4netns
        from tests.rootless import end_processes_of

        with contextlib.suppress(OSError, ValueError):
            end_processes_of(int(path.read_text()))
    if base.exists():
        from tests.podman import remove_podman_cgroups  # its containers outlive its service

        for path in base.glob("**/podman.pid"):
            remove_podman_cgroups(path.parent)
        _unmount_below(base)
        shutil.rmtree(base, ignore_errors=True)
    if _netns_exists(netns):
        subprocess.run(["ip", "netns", "del", netns], check=False, capture_output=True)


def clean_stale_runs() -> None:
    """Tolerate an interrupted earlier run: remove run dirs and namespaces whose pid is gone."""
    candidates = {p.name for p in Path("/tmp").glob(PREFIX + "*")}
    if Path("/var/run/netns").is_dir():
        candidates |= {p.name for p in Path("/var/run/netns").glob(PREFIX + "*")}
    for name in candidates:
        owner = re.match(r"\d+", name[len(PREFIX) :])  # dnt-<pid> and extra namespaces dnt-<pid>-...
        if owner and not process_alive(int(owner.group())):
            remove_run_dir(Path("/tmp") / name, name)


def engine_id_args(base: Path, settings: dict | None = None) -> tuple[str, ...]:
    """A daemon.json of the engine's own: not the host's, and an engine ID of its own.

    Before Docker 23 the engine ID comes from the trust key, /etc/docker/key.json
    unless the configuration's deprecated-key-path says otherwise (so every
    private engine would share the host's ID, and dockerd would write under
    /etc); from 23 on the ID is kept in the data root and the key is gone.
    """
    import json

    version = subprocess.run(["dockerd", "--version"], capture_output=True, text=True).stdout
    match = re.search(r"version (\d+)\.", version)
    config = dict(settings or {})  # what the test wants dockerd to read, as if from /etc/docker/daemon.json
    if match and int(match.group(1)) < 23:
        config["deprecated-key-path"] = str(base / "key.json")
    base.mkdir(parents=True, exist_ok=True)
    path = base / "daemon.json"
    path.write_text(json.dumps(config))
    return ("--config-file", str(path))


def busybox_tar(tar_path: Path) -> Path:
    """The test image's one layer: Debian's busybox-static and its applets as links (every engine imports it)."""
    with tarfile.open(tar_path, "w") as tar:
        tar.add(shutil.which("busybox"), arcname="bin/busybox")
        for applet in ("sh", "sleep", "ip", "ping", "hostname", "cat", "ls", "ifconfig", "true"):
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type = tarfile.SYMTYPE
            info.linkname = "busybox"
            tar.addfile(info)
    return tar_path


class EngineProcess:
    """What every engine bed shares (PrivateDockerd here, tests/podman.py, tests/rootless.py): the process,
    a docker-py client on its socket, and when it answers. A bed sets ``socket``, ``url``, ``proc``, ``_client``
    and says how to read its log's tail."""

    #: how messages name it ("private dockerd", "rootless podman", ...)
    describe = "engine"
    #: docker-py's connection pool
    pool_size = 32
    base: Path
    socket: Path
    url: str
    proc: subprocess.Popen | None

    def log_tail(self) -> str:
        raise NotImplementedError

    def wait_until_it_answers(self, timeout: float) -> None:
        if not wait_for(self._answers, timeout, 0.1):
            tail = self.log_tail()
            self.stop()
            raise RuntimeError(f"{self.describe} did not come up:\n{tail}")

    def _answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"{self.describe} exited: " + self.log_tail())
        if not self.socket.exists():
            return False
        try:
            return bool(self.client.ping())
        except Exception:
            self._client = None
            return False

    @property
    def client(self):
        import docker

        if self._client is None:
            self._client = docker.DockerClient(base_url=self.url, timeout=60, max_pool_size=self.pool_size)
        return self._client

    def import_busybox(self) -> str:
        """A one-binary image from Debian's busybox-static: no registry needed (Podman names it docker.io/...)."""
        try:
            self.client.images.get(IMAGE)
            return IMAGE
        except Exception:
            pass
        tar_path = busybox_tar(self.base / "busybox.tar")
        repository, tag = IMAGE.rsplit(":", 1)
        self.client.api.import_image_from_file(str(tar_path), repository=repository, tag=tag)
        return IMAGE

    def run(self, name: str | None = None, hostname: str | None = None, command: list[str] | None = None, **kwargs):
        """Start a container (by default one that sleeps); it runs until removed."""
        argv = command or ["sleep", "3600"]
        return self.client.containers.run(IMAGE, argv, detach=True, name=name, hostname=hostname, **kwargs)

    def remove_all(self) -> None:
        for container in self.client.containers.list(all=True):
            with contextlib.suppress(Exception):
                container.remove(force=True)

    def stop(self) -> None:
        self.end_process()

    def end_process(self) -> None:
        """Close the client, then end the process by its pid."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.proc is not None:
            stop_pid(self.proc.pid, timeout=30)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            self.proc = None


class PrivateDockerd(EngineProcess):
    def __init__(
        self,
        base: Path,
        netns: str,
        bip: str | None = BRIDGE_IP,
        extra_args: tuple[str, ...] = (),
        settings: dict | None = None,
    ):
        self.settings = settings  # daemon.json settings of the test's (the engine's own key path is added)
        self.base = base
        self.netns = netns
        self.bip = bip
        self.extra_args = extra_args
        self.socket = base / "docker.sock"
        self.pidfile = base / "docker.pid"
        self.url = f"unix://{self.socket}"
        self.proc: subprocess.Popen | None = None
        self._client = None

    def start(self, timeout: float = 90.0) -> None:
        make_netns(self.netns)
        self.base.mkdir(parents=True, exist_ok=True)
        log = open(self.base / "dockerd.log", "ab")
        args = [
            "nsenter",
            f"--net=/var/run/netns/{self.netns}",
            "dockerd",
            "--data-root",
            str(self.base / "data"),
            "--exec-root",
            str(self.base / "exec"),
            "--pidfile",
            str(self.pidfile),
            "-H",
            self.url,
            "--iptables=false",
            "--ip-masq=false",
            "--userland-proxy=false",
            *engine_id_args(self.base, self.settings),
            *(("--bip", self.bip, "--ipv6", "--fixed-cidr-v6", SUBNET6) if self.bip else ()),
            *self.extra_args,
        ]
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        self.wait_until_it_answers(timeout)

    describe = "private dockerd"

    def log_tail(self) -> str:
        return (self.base / "dockerd.log").read_text(errors="replace")[-2000:]

    def address_of(self, container) -> str:
        container.reload()
        return container.attrs["NetworkSettings"]["IPAddress"]


class PrivateNamed:
    def __init__(
        self,
        base: Path,
        zone: str = ZONE,
        subnet: str = SUBNET,
        name: str = "named",
        init_args: tuple[str, ...] = (),
        netns: str | None = None,
        address: str = "127.0.0.1",
        port: int = 0,
    ):
        self.netns = netns  # run named, and talk to it, inside this namespace
        self.dir = base / name
        self.zone = zone
        self.subnet = subnet
        self.init_args = init_args
        self.address = address
        self.port = port
        self.proc: subprocess.Popen | None = None
        self.key_file = self.dir / "ddns.key"

    def provision(self) -> None:
        """Configure it exactly as a user would: with ``dockernet dns init``."""
        self.port = self.port or free_port()
        run_cli(
            "dns",
            "init",
            "--zone",
            self.zone,
            "--dir",
            str(self.dir),
            "--port",
            str(self.port),
            "--listen",
            self.address,
            "--subnet",
            self.subnet,
            "--subnet",
            SUBNET6,
            "--force",
            *self.init_args,
            check=True,
        )

    #: the server program, and its log file's name
    program = "named"

    def command(self) -> list[str]:
        """The server in the foreground (other servers override this: tests/otherservers.py)."""
        return ["named", "-g", "-c", str(self.dir / "named.conf")]

    def environment(self) -> dict | None:
        """The server's environment (None: this process's; tests/kerberos.py gives named a krb5.conf)."""
        return None

    def start(self, timeout: float = 30.0) -> None:
        if not (self.dir / "named.conf").exists():
            self.provision()
        log_path = self.dir / f"{self.program}.log"
        log = open(log_path, "ab")
        enter = ["nsenter", f"--net=/var/run/netns/{self.netns}"] if self.netns else []
        self.proc = subprocess.Popen(
            [*enter, *self.command()],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.dir,
            env=self.environment(),
        )
        log.close()
        if not wait_for(self._answers, timeout, 0.05):
            tail = log_path.read_text(errors="replace")[-2000:]
            self.stop()
            raise RuntimeError(f"private {self.program} did not come up:\n{tail}")

    def _answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            log_path = self.dir / f"{self.program}.log"
            raise RuntimeError(f"{self.program} exited: " + log_path.read_text(errors="replace")[-2000:])
        try:
            response = self._udp(dns.message.make_query(self.zone, "SOA"), timeout=0.5)
        except Exception:
            return False
        return response.rcode() == dns.rcode.NOERROR and bool(response.answer)

    def stop(self) -> None:
        self.proc = end_child(self.proc)

    # -- talking to it as a client --------------------------------------------

    def query(self, name: str, rdtype: str = "A") -> set[str]:
        """The RRset's data as strings; empty when the name or type does not exist."""
        fqdn = dns.name.from_text(name, origin=dns.name.from_text(self.zone))
        response = self._udp(dns.message.make_query(fqdn, rdtype))
        rrset = response.get_rrset(response.answer, fqdn, dns.rdataclass.IN, dns.rdatatype.from_text(rdtype))
        return {rdata.to_text() for rdata in rrset} if rrset else set()

    def _udp(self, message, timeout: float = 2):
        if not self.netns:
            return dns.query.udp(message, self.address, port=self.port, timeout=timeout)
        from dockernet.ddns import socket_in_namespace

        with socket_in_namespace(f"/var/run/netns/{self.netns}", socket.AF_INET) as sock:
            return dns.query.udp(message, self.address, port=self.port, timeout=timeout, sock=sock)

    def serial(self) -> int | None:
        response = self._udp(dns.message.make_query(self.zone, "SOA"))
        return response.answer[0][0].serial if response.answer else None

    def txt(self, name: dns.name.Name) -> list[str]:
        response = self._udp(dns.message.make_query(name, "TXT"))
        rrset = response.get_rrset(response.answer, name, dns.rdataclass.IN, dns.rdatatype.TXT)
        return sorted(b"".join(rdata.strings).decode() for rdata in rrset) if rrset else []

    def ttl(self, name: str, rdtype: str = "A") -> int | None:
        fqdn = dns.name.from_text(name, origin=dns.name.from_text(self.zone))
        response = self._udp(dns.message.make_query(fqdn, rdtype))
        rrset = response.get_rrset(response.answer, fqdn, dns.rdataclass.IN, dns.rdatatype.from_text(rdtype))
        return rrset.ttl if rrset else None

    def client_args(self, key_file: Path | None = None, server: str = "127.0.0.1") -> list[str]:
        """The options that point a dockernet command at this server and zone, signed with its key."""
        return [
            "--server",
            server,
            "--port",
            str(self.port),
            "--zone",
            self.zone,
            "--key-file",
            str(key_file or self.key_file),
        ]

    def logged_add_from(self, label: str, address: str) -> bool:
        """Whether named's log shows ``label``'s A record ``address`` added by a client at that same address."""
        log = (self.dir / "named.log").read_text()
        return bool(
            re.search(
                rf"client @\S+ {re.escape(address)}#\d+: updating zone '{re.escape(self.zone)}/IN': adding an RR at "
                rf"'{re.escape(label)}\.{re.escape(self.zone)}' A {re.escape(address)}",
                log,
            )
        )

    def keyring(self):
        from dockernet.rfc2136.tsigkey import load_key_file

        return load_key_file(self.key_file)

    def update(self, build: Callable[[dns.update.UpdateMessage], None]) -> int:
        """Send a signed UPDATE built by ``build`` (as a person with nsupdate would); returns the rcode."""
        key = self.keyring()
        message = dns.update.UpdateMessage(self.zone, keyring=key.keyring, keyname=key.name)
        build(message)
        return dns.query.tcp(message, "127.0.0.1", port=self.port, timeout=5).rcode()


def named_with_update_rule(base: Path, name: str, rule: str) -> PrivateNamed:
    """A started named from ``dns init`` whose zone has ``rule`` instead of its ``allow-update`` line."""
    server = PrivateNamed(base, name=name)
    server.provision()
    conf = server.dir / "named.conf"
    conf.write_text(conf.read_text().replace('allow-update { key "ddns-key"; };', rule))
    server.start()
    return server


def run_cli(
    *args: str, check: bool = False, env: dict | None = None, timeout: float = 120, netns: str | None = None
) -> subprocess.CompletedProcess:
    """``python -m dockernet ARGS`` as a separate process, with a clean environment (inside ``netns``, if given)."""
    enter = ["nsenter", f"--net=/var/run/netns/{netns}"] if netns else []
    result = subprocess.run(
        [*enter, sys.executable, "-m", "dockernet", *args],
        capture_output=True,
        text=True,
        env=clean_env(env),
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        cwd=REPO,
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"dockernet {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


def clean_env(extra: dict | None = None) -> dict:
    """The environment without any setting dockernet reads (Kerberos's KRB5* too), plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DOCKERNET_", "KRB5"))
        and k
        not in (
            "DOCKER_HOST",
            "NET_NS",
            "NET_DOMAIN",
            "DDNS_KEY",
            "DOCKER_PID",
            "DOCKER_TLS_VERIFY",
            "DOCKER_CERT_PATH",
        )
    }
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra or {})
    return env


class WatcherProcess:
    """``dockernet watch`` as a real process, logging to a file."""

    def __init__(
        self,
        dockerd: PrivateDockerd,
        named: PrivateNamed,
        workdir: Path,
        owner: str,
        key_file: Path | None = None,
        extra: tuple[str, ...] = ("--settle-time", "1"),
        netns: str | None = None,
        server: str = "127.0.0.1",
        docker_args: tuple[str, ...] | None = None,
    ):
        self.netns = netns  # run the watcher inside this namespace
        #: how the watcher reaches the engine (default: --docker-host with its unix socket)
        self.docker_args = docker_args or ("--docker-host", dockerd.url)
        self.server = server
        self.dockerd = dockerd
        self.named = named
        self.workdir = workdir
        self.owner = owner
        self.key_file = key_file or named.key_file
        self.extra = extra
        self.log = workdir / f"watch-{owner}.log"
        self.stderr = workdir / f"watch-{owner}.stderr"
        self.pidfile = workdir / f"watch-{owner}.pid"
        self.proc: subprocess.Popen | None = None

    def args(self, *more: str) -> list[str]:
        return [
            *self.docker_args,
            "watch",
            *self.named.client_args(self.key_file, self.server),
            "--owner-id",
            self.owner,
            "--docker-pid",
            str(self.dockerd.pidfile),
            "--state-dir",
            str(self.workdir / f"state-{self.owner}"),
            *self.extra,
            *more,
        ]

    def start(self, wait: bool = True, env: dict | None = None) -> WatcherProcess:
        self.log_offset = len(self.log_text())
        stderr = open(self.stderr, "ab")
        enter = ["nsenter", f"--net=/var/run/netns/{self.netns}"] if self.netns else []
        self.proc = subprocess.Popen(
            [*enter, sys.executable, "-m", "dockernet", *self.args("--pidfile", str(self.pidfile), str(self.log))],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            env=clean_env(env),
            cwd=REPO,
        )
        stderr.close()
        if wait:
            # only this process's lines count: a restarted watcher appends to the same log
            started = wait_for(
                lambda: "Watching Docker events" in self.new_log_text() or self.proc.poll() is not None, 30
            )
            assert started and self.proc.poll() is None, f"watcher did not start: {self.stderr_text()}"
        return self

    def once(self, *more: str) -> subprocess.CompletedProcess:
        return run_cli(*self.args("--once", *more, str(self.log)), netns=self.netns)

    def dns(self, verb: str, *more: str) -> subprocess.CompletedProcess:
        """``dockernet dns VERB`` with this watcher's server, zone, key, owner and state dir."""
        return run_cli(
            *self.docker_args,
            "dns",
            verb,
            *self.named.client_args(self.key_file, self.server),
            "--owner-id",
            self.owner,
            "--state-dir",
            str(self.workdir / f"state-{self.owner}"),
            *more,
            netns=self.netns,
        )

    def log_text(self) -> str:
        try:
            return self.log.read_text()
        except FileNotFoundError:
            return ""

    def new_log_text(self) -> str:
        """What the process started last wrote to the log."""
        return self.log_text()[getattr(self, "log_offset", 0) :]

    def stderr_text(self) -> str:
        try:
            return self.stderr.read_text()
        except FileNotFoundError:
            return ""

    def terminate(self, timeout: float = 15) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def tab(words: list[str], typed: str, docker_host: str | None = None) -> list[str]:
    """Source ``dockernet completion bash`` in a real bash, then do what Tab does after ``words`` and ``typed``."""
    script = (
        'eval "$(dockernet completion bash)"\n'
        f"COMP_WORDS=({shlex.join([*words, typed])})\n"
        f"COMP_CWORD={len(words)}\n"
        "_dockernet_completion dockernet\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = clean_env(
        {
            "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"],
            **({"DOCKER_HOST": docker_host} if docker_host else {}),
        }
    )
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return sorted(line for line in result.stdout.splitlines() if line)


@contextlib.contextmanager
def started_containers(engine: EngineProcess):
    """``start(name, hostname, **kwargs)`` for one test on ``engine`` (its ``run``); every container it started is
    removed afterwards, by id (the engine may have restarted; force: Podman's compat API kills without waiting)."""
    started = []

    def start(name=None, hostname=None, **kwargs):
        container = engine.run(name=name, hostname=hostname, **kwargs)  # type: ignore[attr-defined]
        started.append(container.id)
        return container

    try:
        yield start
    finally:
        for container_id in started:
            with contextlib.suppress(Exception):
                engine.client.api.remove_container(container_id, force=True)
