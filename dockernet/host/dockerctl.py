"""Stopping and starting the host's Docker around ``bridge setup --restart-docker``, and asking it what it uses.

Docker is started again the way it ran: through systemd when systemd runs
it, else as the process in its pid file, whose command line, network
namespace and log file are taken before it is stopped and given back to
the new process (in a session of its own, so it outlives dockernet).
Whether Docker accepted the bridge is the engine's own answer: its default
``bridge`` network must name the link, its subnet and its gateway.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dockernet.errors import DockerControlFailed, DockerRunning, DockerUnreachable
from dockernet.pidfile import process_alive, read_pid

if TYPE_CHECKING:
    from dockernet.engine.address import EngineAddress


@dataclass
class SystemdDocker:
    """Docker run by systemd: stopped with its socket, so no request starts it meanwhile."""

    def describe(self) -> str:
        return "systemctl (docker.service)"

    def stop(self) -> None:
        _run(["systemctl", "stop", "docker.socket", "docker.service"], "stop Docker")

    def start(self) -> None:
        _run(["systemctl", "start", "docker.service"], "start Docker")

    def exited(self) -> str | None:
        return None  # systemctl start waits for the unit: a failed start is its error


@dataclass
class InitScriptDocker:
    """Docker run by its SysV init script (no systemd): the script reads /etc/default/docker when it starts it."""

    script: str

    def describe(self) -> str:
        return self.script

    def stop(self) -> None:
        _run([self.script, "stop"], "stop Docker")

    def start(self) -> None:
        _run([self.script, "start"], "start Docker")

    def exited(self) -> str | None:
        return None  # the script's start reports its own failure; the engine check does the rest


@dataclass
class PidfileDocker:
    """The process in Docker's pid file, started again with the same command line, namespace and log."""

    pidfile: str
    pid: int
    argv: list[str]
    netns_fd: int | None
    log_path: str | None
    #: the process ``start`` made (None before), polled for an early exit
    process: subprocess.Popen | None = field(default=None, repr=False)

    def describe(self) -> str:
        return f"process {self.pid} from {self.pidfile}"

    def stop(self, timeout: float = 60.0) -> None:
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while process_alive(self.pid) and not _zombie(self.pid):
            if time.monotonic() > deadline:
                raise DockerControlFailed(f"Docker (process {self.pid}) did not stop within {timeout:g} s")
            time.sleep(0.05)

    def start(self) -> None:
        # only a restart of a pid-file Docker needs libc and pyroute2's setns
        import ctypes
        import ctypes.util

        from pyroute2 import netns

        # everything the forked child needs is loaded here: looking libc up there could run ldconfig
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        netns_fd = self.netns_fd

        def enter_namespace() -> None:
            if netns_fd is not None:
                netns.setns(netns_fd, flags=0, libc=libc)

        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        try:
            process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                preexec_fn=enter_namespace,
                close_fds=True,
            )
        except OSError as exc:
            raise DockerControlFailed(f"cannot start {self.argv[0]}: {exc.strerror}") from None
        finally:
            if not isinstance(log, int):  # a file of ours, not subprocess.DEVNULL
                log.close()
        self.pid = process.pid
        self.process = process

    def exited(self) -> str | None:
        """Why the process started last is gone (None while it runs)."""
        if self.process is None or self.process.poll() is None:
            return None
        tail = f"; its log: {self.log_path}" if self.log_path else ""
        return f"{self.argv[0]} exited with status {self.process.returncode}{tail}"


DockerService = SystemdDocker | InitScriptDocker | PidfileDocker
INIT_SCRIPT = "/etc/init.d/docker"


def find_docker(docker_pid: str | None, init_script: str = INIT_SCRIPT) -> DockerService | None:
    """How the running Docker is controlled; None when no Docker process is found.

    systemd when it runs Docker; else, for the pid file's live process, the
    init script when it is there and that pid file is the script's (it
    re-reads DOCKER_OPTS), else the process's own command line.
    """
    if Path("/run/systemd/system").is_dir() and _systemd_runs_docker():
        return SystemdDocker()
    if not docker_pid:
        return None
    pid = read_pid(docker_pid)
    if not pid or not process_alive(pid):
        return None
    if os.access(init_script, os.X_OK) and os.path.realpath(docker_pid) == os.path.realpath("/var/run/docker.pid"):
        return InitScriptDocker(init_script)
    try:
        argv = [arg.decode() for arg in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if arg]
        netns_fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)  # keeps the namespace while Docker is down
    except OSError as exc:
        raise DockerControlFailed(
            f"cannot read how process {pid} from {docker_pid} was started: {exc.strerror}",
            hint="run as root, or restart Docker yourself",
        ) from None
    log = os.path.realpath(f"/proc/{pid}/fd/1") if os.path.exists(f"/proc/{pid}/fd/1") else ""
    return PidfileDocker(docker_pid, pid, argv, netns_fd, log if log.startswith("/") and os.path.isfile(log) else None)


def _systemd_runs_docker() -> bool:
    try:
        state = subprocess.run(
            ["systemctl", "is-active", "docker.service"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return False
    return state in ("active", "activating", "reloading")


def _run(argv: list[str], doing: str) -> None:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DockerControlFailed(f"cannot {doing}: {exc}") from None
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
        raise DockerControlFailed(f"cannot {doing}: {reason}")


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except (OSError, IndexError):
        return True


def bridge_disagreements(engine, name: str, interface: ipaddress.IPv4Interface) -> list[str]:
    """How the engine's default bridge network differs from ``name`` with ``interface`` (empty: it agrees)."""
    used, configs = engine.default_bridge()
    found = []
    if used != name:
        found.append(f"Docker's bridge network uses {used or 'no link'}, not {name}")
    subnets = {subnet: gateway for subnet, gateway in configs if ":" not in subnet}
    if str(interface.network) not in subnets:
        found.append(f"its subnet is {', '.join(subnets) or 'none'}, not {interface.network}")
    elif subnets[str(interface.network)] not in ("", str(interface.ip)):
        found.append(f"its gateway is {subnets[str(interface.network)]}, not {interface.ip}")
    return found


def wait_for_engine(engine, service=None, timeout: float = 60.0) -> None:
    """Until the engine answers; raises DockerUnreachable after ``timeout``, at once when ``service`` exited."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            engine.ping()
            return
        except DockerUnreachable:
            gone = service.exited() if service is not None else None
            if gone:
                raise DockerControlFailed(gone) from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def validate_config(text: str, dockerd: str = "dockerd") -> tuple[bool | None, str]:
    """Ask dockerd whether it accepts ``text`` as daemon.json: (True, ""), (False, its reason), or (None, why it
    cannot be asked). ``dockerd --validate`` exists from Docker 23 on; older ones are detected by their --help."""
    binary = shutil.which(dockerd)
    if binary is None:
        return None, f"no {dockerd} here to ask"
    try:
        usage = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30)
        if "--validate" not in usage.stdout + usage.stderr:
            version = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
            return None, (
                f"{version or dockerd} cannot validate a configuration (dockerd --validate came with Docker 23)"
            )
        with tempfile.TemporaryDirectory(prefix="dockernet-") as directory:
            path = Path(directory) / "daemon.json"
            path.write_text(text)
            path.chmod(0o600)
            answer = subprocess.run(
                [binary, "--validate", "--config-file", str(path)], capture_output=True, text=True, timeout=60
            )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"cannot run {dockerd}: {exc}"
    if answer.returncode == 0:
        return True, ""
    said = (answer.stderr.strip() or answer.stdout.strip()).splitlines()
    return False, said[-1] if said else f"exit status {answer.returncode}"


# --- is Docker running? ----------------------------------------------------------------


def docker_running(docker_pid: str | None, docker_host: EngineAddress | str | None) -> str | None:
    """How we know Docker runs (a sentence), or None when it does not."""
    if docker_pid:
        pid = read_pid(docker_pid)
        if pid and process_alive(pid):
            return f"process {pid} from {docker_pid} is alive"
    from dockernet.engine.dockerapi import DockerEngine  # start-up time: docker-py only once the pid file says nothing

    engine = DockerEngine(docker_host, timeout=3)
    try:
        engine.ping()
    except DockerUnreachable:
        return None
    finally:
        engine.close()
    return f"the engine at {engine.where} answers"


def refuse_if_docker_runs(docker_pid: str | None, docker_host: EngineAddress | str | None) -> None:
    """Refuse to rebuild the bridge under a running Docker (without ``--restart-docker``)."""
    reason = docker_running(docker_pid, docker_host)
    if reason:
        raise DockerRunning(
            f"Docker is running ({reason}); rebuilding its bridge now would cut its containers off",
            hint="stop it first (systemctl stop docker.socket docker, or: service docker stop), or "
            "let dockernet do it with --restart-docker",
        )
