"""The README's first command, run as a newcomer would, in a namespace of the test's own.

``scripts/quickstart`` runs inside a throwaway network namespace (so the
127.0.0.1 it uses is the namespace's), against the session's private dockerd
or one it starts itself, with its files in the run dir. Debian's own
``named.service`` (which holds 127.0.0.1:53 once bind9 is installed, on a
systemd host) is played by a named of the test's own that runs as ``bind``
as Debian's does, so the kernel lets two servers share the port.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from dockernet.pidfile import process_alive
from tests.harness import (
    REPO,
    PrivateNamed,
    clean_env,
    delete_netns,
    engine_id_args,
    make_netns,
    stop_pid,
    wait_for,
)

ZONE = "docker.test"
STORIES = itertools.count()


class DebiansNamed(PrivateNamed):
    """A foreign server on 127.0.0.1:53 that serves another zone, as user bind like Debian's unit."""

    def provision(self) -> None:
        super().provision()
        shutil.chown(self.dir, "bind", "bind")
        for path in self.dir.iterdir():
            shutil.chown(path, "bind", "bind")

    def command(self) -> list[str]:
        return [*super().command(), "-u", "bind"]


class Quickstart:
    """One run of scripts/quickstart in its own process group, as a terminal would start it."""

    def __init__(self, netns: str, workdir: Path, env: dict):
        self.netns = netns
        self.workdir = workdir
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.log = workdir / "quickstart.log"

    def start(self, **settings: str) -> Quickstart:
        self.offset = self.log.stat().st_size if self.log.exists() else 0
        env = clean_env({**self.env, **settings})
        env.pop("CI", None)  # installed already: no apt-get update on every run
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                ["nsenter", f"--net=/var/run/netns/{self.netns}", "bash", str(REPO / "scripts" / "quickstart")],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        return self

    def text(self) -> str:
        return self.log.read_text(errors="replace")[self.offset :]

    def wait_watching(self) -> None:
        ready = wait_for(lambda: "Watching Docker events" in self.text() or self.proc.poll() is not None, 90, 0.1)
        assert ready and self.proc.poll() is None, f"quickstart did not reach a watcher:\n{self.text()}"

    def wait_exit(self, timeout: float = 90) -> int:
        return self.proc.wait(timeout=timeout)

    def ctrl_c(self) -> int:
        """SIGINT to the whole process group: what Ctrl-C in its terminal does."""
        os.killpg(self.proc.pid, signal.SIGINT)
        return self.proc.wait(timeout=30)

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def udp_holders(netns: str, port: int) -> set[int]:
    """Pids with a UDP socket on 127.0.0.1:port inside the namespace (the kernel's answer, via ss)."""
    out = subprocess.run(
        ["nsenter", f"--net=/var/run/netns/{netns}", "ss", "-Hlnup", f"sport = :{port}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {
        int(pid) for line in out.splitlines() if f"127.0.0.1:{port} " in line for pid in re.findall(r"pid=(\d+)", line)
    }


def pid_in(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


@pytest.fixture
def place(run_dir):
    """A namespace and a directory for one quickstart story; its named and dockerd are stopped by pid file."""
    base, netns = run_dir
    story = next(STORIES)
    name = f"{netns}-qs{story}"
    workdir = base / f"qs{story}"  # short: dockerd's containerd socket path must stay under 104 bytes
    workdir.mkdir(parents=True, exist_ok=True)
    make_netns(name)
    runs: list[Quickstart] = []
    servers: list[PrivateNamed] = []
    yield name, workdir, runs, servers
    for run in runs:
        run.cleanup()
    for server in servers:
        server.stop()
    for pidfile in (*workdir.glob("**/named.pid"), *workdir.glob("**/docker.pid")):
        pid = pid_in(pidfile)
        if pid and process_alive(pid):
            stop_pid(pid)
    delete_netns(name)


def test_quickstart_never_shares_a_port_and_its_advice_works(dockerd, place, label):
    netns, workdir, runs, servers = place
    qs_dir = workdir / "named"
    env = {"DOCKER_HOST": dockerd.url, "DOCKERNET_DIR": str(qs_dir), "DOCKERNET_STATE_DIR": str(workdir / "state")}

    def quickstart(**settings):
        run = Quickstart(netns, workdir, env).start(**settings)
        runs.append(run)
        return run

    def answers(port: int, name: str) -> set[str]:
        return PrivateNamed(workdir, zone=ZONE, netns=netns, port=port).query(name)

    # 1. a fresh host: its own named on 127.0.0.1:53, and a container's name answers there
    first = quickstart()
    first.wait_watching()
    ours_53 = pid_in(qs_dir / "named.pid")
    assert udp_holders(netns, 53) == {ours_53}
    container = dockerd.run(hostname=label)
    try:
        address = dockerd.address_of(container)
        assert wait_for(lambda: answers(53, label) == {address}, 15)
        first.ctrl_c()
        assert not process_alive(first.proc.pid)
        assert process_alive(ours_53), "the zone's server must outlive the watcher"

        # 2. Debian's named comes up on 53 too (a reboot, or `systemctl start named`): it shares the port with
        # ours, so answers would split between them; the quickstart stops ours and moves to a free port
        debian = DebiansNamed(workdir, zone="other.test", name="debian-named", netns=netns, port=53)
        servers.append(debian)
        debian.start()
        assert udp_holders(netns, 53) == {ours_53, debian.proc.pid}
        key_before = (qs_dir / "ddns.key").read_bytes()
        second = quickstart()
        second.wait_watching()
        text = second.text()
        assert (
            f"stopping dockernet's named (pid {ours_53}): it shares 127.0.0.1:53 with named (pid {debian.proc.pid})"
            in text
        )
        assert "127.0.0.1:53 is held by named" in text and "takes 127.0.0.1:5300 instead" in text
        assert "dig @127.0.0.1 -p 5300 web1.docker.test" in text
        assert udp_holders(netns, 53) == {debian.proc.pid} and not process_alive(ours_53)
        assert wait_for(lambda: answers(5300, label) == {address}, 15)
        assert (qs_dir / "ddns.key").read_bytes() == key_before
        second.ctrl_c()
        ours_5300 = pid_in(qs_dir / "named.pid")
        conf_before = (qs_dir / "named.conf").read_bytes()

        # 3. asked for port 53 explicitly while Debian's holds it: one piece of advice that works, nothing changed
        refused = quickstart(DOCKERNET_PORT="53")
        assert refused.wait_exit() == 1
        assert "127.0.0.1:53 is held by named" in refused.text()
        assert "rerun with a free port (DOCKERNET_PORT=5301)" in refused.text()
        assert (qs_dir / "named.conf").read_bytes() == conf_before
        assert udp_holders(netns, 53) == {debian.proc.pid} and udp_holders(netns, 5300) == {ours_5300}

        # 4. following that advice: named.conf follows the port, no server is left on the old one
        moved = quickstart(DOCKERNET_PORT="5301")
        moved.wait_watching()
        assert f"stopping dockernet's named (pid {ours_5300}): it listens on port 5300, not 5301" in moved.text()
        assert "moving dockernet's named" in moved.text()
        assert udp_holders(netns, 5300) == set() and udp_holders(netns, 53) == {debian.proc.pid}
        assert udp_holders(netns, 5301) == {pid_in(qs_dir / "named.pid")}
        assert wait_for(lambda: answers(5301, label) == {address}, 15)
        assert (qs_dir / "ddns.key").read_bytes() == key_before
        moved.ctrl_c()
    finally:
        container.remove(force=True)


def test_ctrl_c_stops_the_watcher_but_not_the_dockerd_it_started(place):
    netns, workdir, runs, _ = place
    engine = workdir / "engine"
    engine.mkdir()
    socket_url = f"unix://{engine / 'docker.sock'}"
    dockerd_args = " ".join(
        [
            "--data-root",
            str(engine / "data"),
            "--exec-root",
            str(engine / "exec"),
            "--pidfile",
            str(engine / "docker.pid"),
            "-H",
            socket_url,
            "--iptables=false",
            "--ip-masq=false",
            "--bip",
            "10.9.0.1/24",
            *engine_id_args(engine),
        ]
    )
    env = {
        "DOCKER_HOST": socket_url,
        "DOCKERNET_DIR": str(workdir / "named"),
        "DOCKERNET_STATE_DIR": str(workdir / "state"),
        "DOCKERNET_PORT": "5300",
        "DOCKERNET_DOCKERD_ARGS": dockerd_args,
        "DOCKERNET_DOCKERD_LOG": str(engine / "dockerd.log"),
    }
    run = Quickstart(netns, workdir, env).start()
    runs.append(run)
    run.wait_watching()
    assert "starting dockerd in a session of its own" in run.text()
    dockerd_pid = pid_in(engine / "docker.pid")
    assert dockerd_pid and process_alive(dockerd_pid)
    assert os.getpgid(dockerd_pid) != run.proc.pid

    run.ctrl_c()
    assert not process_alive(run.proc.pid)
    info = subprocess.run(
        ["docker", "-H", socket_url, "info", "--format", "{{.ID}}"],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=30,
    )
    assert process_alive(dockerd_pid) and info.returncode == 0 and info.stdout.strip(), info.stderr
