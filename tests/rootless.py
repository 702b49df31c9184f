"""Rootless engines for the integration tests: an unprivileged user the test makes, running Podman or Docker.

* ``RootlessUser``: a uid/gid that /etc/passwd does not hold and a subordinate
  id range /etc/subuid and /etc/subgid do not hold. The user exists only
  inside mount namespaces the test makes (``unshare -m``, propagation
  private), where copies of passwd, group, subuid and subgid with the user
  added are bind-mounted over the originals: ``newuidmap``/``newgidmap``
  (setuid, from ``uidmap``) read them there. The host's /etc is never
  written. /dev/net/tun is 0600 on some hosts (this one): slirp4netns and
  RootlessKit, inside their user namespace, cannot open a root-owned node of
  that mode, so the mount namespace also gets a 0666 node of the same device
  over it (the host's node is left as it is).
* ``RootlessPodman``: ``podman system service --time=0 unix://...`` as that
  user; its containers' network is slirp4netns, published ports are
  rootlessport's listeners in the engine's network namespace.
* ``RootlessDockerd``: Debian's ``dockerd-rootless.sh`` (RootlessKit with
  slirp4netns and its builtin port driver).

Each engine runs in a network namespace of the test's (``dnt-<pid>-...``)
holding a veth pair with ``host_address``: the address a container's
published port is reached at, i.e. the "host's address" of this test host.
The engine's process is the one the test started (nsenter, unshare, setpriv
and env all exec); its pid is in ``<base>/rootless-engine.pid`` and the
user's uid in ``<base>/rootless.uid``, so a later run ends strays of an
interrupted one (harness.remove_run_dir). Everything lives under the run dir.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
from pathlib import Path

from tests.harness import EngineProcess, ip, make_netns, wait_for

ETC_FILES = ("passwd", "group", "subuid", "subgid")
#: what the engines write outside their user's home whatever they are told: a tmpfs of the namespace's own
PRIVATE_TMP = ("/var/tmp", "/dev/shm")
SUB_COUNT = 65536
#: what both beds need on PATH (Debian: uidmap, slirp4netns, util-linux, podman, rootlesskit)
ROOTLESS_TOOLS = ("newuidmap", "newgidmap", "slirp4netns", "setpriv", "unshare", "podman", "rootlesskit")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _taken_ids(path: str, field: int) -> set[int]:
    ids = set()
    for line in Path(path).read_text().splitlines():
        parts = line.split(":")
        if len(parts) > field and parts[field].isdigit():
            ids.add(int(parts[field]))
    return ids


def _subordinate_ranges() -> list[tuple[int, int]]:
    ranges = []
    for path in ("/etc/subuid", "/etc/subgid"):
        if not Path(path).exists():
            continue
        for line in Path(path).read_text().splitlines():
            parts = line.split(":")
            if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                ranges.append((int(parts[1]), int(parts[2])))
    return ranges


def processes_of(uid: int) -> list[int]:
    """The pids whose real uid is ``uid`` (a uid the test chose because nothing on the host had it)."""
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        zombie = fields.get("State", "").strip().startswith("Z")  # ended, its parent not yet told
        if int(fields.get("Uid", "-1 0").split()[0]) == uid and not zombie:
            pids.append(int(status.parent.name))
    return pids


def end_processes_of(uid: int, timeout: float = 5.0) -> None:
    """End every process of ``uid`` (a rootless engine's pause process, conmon, slirp4netns, containers), by pid:
    SIGTERM to all, then SIGKILL to what is left (a container's PID 1 ignores SIGTERM sent from outside)."""
    if uid <= 0:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in processes_of(uid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        if wait_for(lambda: not processes_of(uid), timeout, 0.05):
            return


class RootlessUser:
    """An identity of the test's own; ``command`` wraps a program to run as it, in a mount namespace of its own."""

    #: uids and subordinate ranges handed out in this process (two users of one run must differ)
    _handed_out: set[int] = set()

    def __init__(self, base: Path, name: str, first_uid: int = 1500, first_sub: int = 200000):
        self.base = base
        self.name = name
        self.uid = self._free_uid(first_uid)
        self.sub_start = self._free_sub(first_sub)
        self.home = base / "home"
        self.runtime_dir = base / "run"
        self.etc = base / "etc"
        self.dev = base / "dev"

    def _free_uid(self, first: int) -> int:
        taken = _taken_ids("/etc/passwd", 2) | _taken_ids("/etc/group", 2) | self._handed_out
        for uid in range(first, 60000):
            if uid not in taken and not processes_of(uid):  # a uid no /etc file names may still run
                self._handed_out.add(uid)
                return uid
        raise RuntimeError("no free uid below 60000")

    def _free_sub(self, first: int) -> int:
        taken = _subordinate_ranges() + [(start, SUB_COUNT) for start in self._handed_out if start >= first]
        used = _taken_ids("/etc/passwd", 2) | _taken_ids("/etc/group", 2)
        start = first
        while start < 2**31:
            end = start + SUB_COUNT
            clash = any(start < s + n and s < end for s, n in taken) or any(start <= i < end for i in used)
            if not clash:
                self._handed_out.add(start)
                return start
            start += SUB_COUNT
        raise RuntimeError("no free subordinate id range")

    def create(self) -> None:
        """The user's copies of the /etc files, its HOME and XDG_RUNTIME_DIR, and a usable tun node."""
        self.etc.mkdir(parents=True, exist_ok=True)
        lines = {
            "passwd": f"{self.name}:x:{self.uid}:{self.uid}::{self.home}:/bin/sh",
            "group": f"{self.name}:x:{self.uid}:",
            "subuid": f"{self.name}:{self.sub_start}:{SUB_COUNT}",
            "subgid": f"{self.name}:{self.sub_start}:{SUB_COUNT}",
        }
        for name, line in lines.items():
            original = Path("/etc", name)
            text = original.read_text() if original.exists() else ""
            (self.etc / name).write_text(text + ("" if not text or text.endswith("\n") else "\n") + line + "\n")
        for directory, mode in ((self.home, 0o755), (self.runtime_dir, 0o700)):
            directory.mkdir(parents=True, exist_ok=True)
            os.chown(directory, self.uid, self.uid)
            directory.chmod(mode)
        self.dev.mkdir(exist_ok=True)
        tun = self.dev / "tun"
        if not tun.exists():
            os.mknod(tun, 0o666 | 0o020000, os.makedev(10, 200))
        tun.chmod(0o666)  # mknod's mode passes through the umask
        (self.base / "rootless.uid").write_text(f"{self.uid}\n")

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "HOME": str(self.home),
            "USER": self.name,
            "LOGNAME": self.name,
            "XDG_RUNTIME_DIR": str(self.runtime_dir),
            "PATH": PATH,
            **extra,
        }

    def command(self, argv: list[str], netns: str | None = None, **env: str) -> list[str]:
        """``argv`` as this user, in a private mount namespace holding its /etc files (and in ``netns``)."""
        mounts = [(self.etc / name, Path("/etc", name)) for name in ETC_FILES]
        if Path("/dev/net/tun").exists():
            mounts.append((self.dev / "tun", Path("/dev/net/tun")))
        script = " && ".join(
            [f"mount --bind {shlex.quote(str(a))} {shlex.quote(str(b))}" for a, b in mounts]
            # Podman leaves its import files in /var/tmp and its lock in /dev/shm: the namespace's own, not the host's
            + [f"mount -t tmpfs -o mode=1777 tmpfs {path}" for path in PRIVATE_TMP]
        )
        as_user = [
            "setpriv",
            f"--reuid={self.uid}",
            f"--regid={self.uid}",
            "--clear-groups",
            "--inh-caps=-all",
            "env",
            "-i",
            *(f"{key}={value}" for key, value in self.env(**env).items()),
            *argv,
        ]
        enter = ["nsenter", f"--net=/var/run/netns/{netns}"] if netns else []
        inner = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script + ' && exec "$@"', "sh"]
        return [*enter, *inner, *as_user]

    def chown_tree(self, path: Path) -> None:
        for root, dirs, files in os.walk(path):
            for entry in [root, *(os.path.join(root, d) for d in dirs), *(os.path.join(root, f) for f in files)]:
                os.lchown(entry, self.uid, self.uid)

    def end_processes(self) -> None:
        end_processes_of(self.uid)


class RootlessEngine(EngineProcess):
    """What both rootless engines share: the user, the namespace, the process, the client, the image."""

    program = ""  # the engine process's comm, for stray cleanup
    pool_size = 8

    def __init__(self, base: Path, netns: str, host_address: str, first_uid: int, first_sub: int):
        self.base = base
        self.netns = netns
        self.host_address = host_address
        self.user = RootlessUser(base, "dnt" + base.name.replace("-", "")[-8:], first_uid, first_sub)
        self.pidfile = base / "rootless-engine.pid"
        self.log = base / "engine.log"
        self.proc: subprocess.Popen | None = None
        self._client = None

    @property
    def socket(self) -> Path:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def argv(self) -> list[str]:
        raise NotImplementedError

    def prepare(self) -> None:
        """Configuration files in the user's HOME."""

    def start(self, timeout: float = 90.0) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        make_netns(self.netns)
        # a veth pair inside the namespace stands for the host's LAN interface (no dummy module here)
        ip("-n", self.netns, "link", "add", "host0", "type", "veth", "peer", "name", "host1")
        ip("-n", self.netns, "addr", "add", f"{self.host_address}/24", "dev", "host0")
        for ifname in ("host0", "host1"):
            ip("-n", self.netns, "link", "set", ifname, "up")
        ip("-n", self.netns, "route", "add", "default", "dev", "host0")
        self.user.create()
        self.prepare()
        log = open(self.log, "ab")
        self.proc = subprocess.Popen(
            self.user.command(self.argv(), self.netns),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.user.home,
        )
        log.close()
        self.pidfile.write_text(f"{self.proc.pid}\n")
        self.wait_until_it_answers(timeout)

    @property
    def describe(self) -> str:
        return f"rootless {self.program}"

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        self.end_process()
        self.user.end_processes()
        self.pidfile.unlink(missing_ok=True)


class RootlessPodman(RootlessEngine):
    """``podman system service`` as the test's user: cgroupfs (no systemd here), runc, events in a file."""

    program = "podman"

    def __init__(self, base: Path, netns: str, host_address: str = "10.250.1.2"):
        super().__init__(base, netns, host_address, first_uid=1500, first_sub=200000)

    @property
    def socket(self) -> Path:
        return self.user.runtime_dir / "podman.sock"

    def argv(self) -> list[str]:
        return ["podman", "system", "service", "--time=0", self.url]

    def prepare(self) -> None:
        config = self.user.home / ".config" / "containers"
        config.mkdir(parents=True, exist_ok=True)
        hard = subprocess.run(["sh", "-c", "ulimit -Hn"], capture_output=True, text=True).stdout.strip()
        (config / "containers.conf").write_text(
            "[containers]\n"
            # the default nofile 1048576 is over this host's hard limit, which an unprivileged user cannot raise
            f'default_ulimits = ["nofile={hard}:{hard}"]\n'
            "[engine]\n"
            'cgroup_manager = "cgroupfs"\n'
            'events_logger = "file"\n'
            'runtime = "runc"\n'
        )
        (config / "storage.conf").write_text(
            "[storage]\n"
            'driver = "overlay"\n'
            f'graphroot = "{self.user.home}/storage"\n'
            f'runroot = "{self.user.runtime_dir}/containers"\n'
        )
        self.user.chown_tree(self.user.home)


class RootlessDockerd(RootlessEngine):
    """Debian's ``dockerd-rootless.sh``: RootlessKit (slirp4netns, builtin port driver) around dockerd."""

    program = "rootlesskit"
    script = "/usr/share/docker.io/contrib/dockerd-rootless.sh"

    def __init__(self, base: Path, netns: str, host_address: str = "10.250.2.2"):
        super().__init__(base, netns, host_address, first_uid=1600, first_sub=300000)

    @property
    def socket(self) -> Path:
        return self.user.runtime_dir / "docker.sock"

    def argv(self) -> list[str]:
        return ["sh", self.script, "--pidfile", str(self.user.runtime_dir / "docker.pid")]

    def prepare(self) -> None:
        config = self.user.home / ".config" / "docker"
        config.mkdir(parents=True, exist_ok=True)
        (config / "daemon.json").write_text("{}\n")
        self.user.chown_tree(self.user.home)
