"""A real rootful Podman serving its Docker-compatible API, private to one test run.

``podman system service --time=0 unix://<base>/podman.sock`` as root, run as
``nsenter --net=<the test's namespace> unshare -m`` so it has a network
namespace and a mount namespace of its own. Rootful Podman writes host paths
whatever ``--root`` says (/run/containers/networks/ipam.db, /run/runc,
/var/lib/containers/cache, /dev/shm/libpod_lock, and the compat image import
leaves /var/tmp/api_load.tar*), so inside that mount namespace /run, /var/lib,
/var/tmp and /dev/shm are private tmpfs; the socket, storage and logs live
under ``base`` in /tmp, which stays shared with the host. Its containers.conf
(``CONTAINERS_CONF``: the only one read) chooses netavark (else Debian's CNI
config is picked), keeps network configs under ``base`` (else
/etc/containers/networks), logs events to a file (no journald here), runs
runc (crun refuses cgroup v1/v2 hybrid hosts: "cgroups in hybrid mode not
supported") and lowers the default ulimits to what root may set here (no
CAP_SYS_RESOURCE: the default nofile=1048576 fails with "error setting rlimit").

Its containers and their conmon outlive the service: ``stop`` removes them
first, and ``remove_podman_cgroups`` kills by PID whatever is left in the
cgroup parent the containers are given (``run`` passes it), for
harness.remove_run_dir after an interrupted run.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
from pathlib import Path

from tests.harness import EngineProcess, make_netns, wait_for

CGROUP_ROOT = Path("/sys/fs/cgroup")

#: made private inside the service's mount namespace, in this order
PRIVATE_DIRS = ("/run", "/var/lib", "/var/tmp", "/dev/shm")


def cgroup_parent_of(base: Path) -> str:
    """The cgroup its containers (and their conmon) are put in: one per bed, named after the run dir."""
    return f"/{base.parent.name}-{base.name}"


def containers_conf(base: Path) -> str:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nofile = "1048576" if hard == resource.RLIM_INFINITY else str(hard)
    return f"""[containers]
default_ulimits = ["nofile={nofile}:{nofile}", "nproc=32768:32768"]

[network]
network_backend = "netavark"
network_config_dir = "{base}/networks"

[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
events_logger = "file"
events_logfile_path = "{base}/events.log"
tmp_dir = "{base}/tmp"
"""


class PrivatePodman(EngineProcess):
    """Rootful Podman's API on ``base``/podman.sock, in network namespace ``netns`` and a mount namespace of its own."""

    describe = "private podman"

    def __init__(self, base: Path, netns: str):
        self.base = base
        self.netns = netns
        self.socket = base / "podman.sock"
        self.pidfile = base / "podman.pid"  # harness.remove_run_dir finds a stray service by it
        self.url = f"unix://{self.socket}"
        self.cgroup_parent = cgroup_parent_of(base)
        self.proc: subprocess.Popen | None = None
        self._client = None

    def command(self) -> list[str]:
        mounts = " && ".join(f"mount -t tmpfs -o mode={_mode(d)} tmpfs {d}" for d in PRIVATE_DIRS)
        service = (
            f"exec podman --root {self.base}/root --runroot {self.base}/runroot system service --time=0 {self.url}"
        )
        # nsenter and unshare exec (no --fork), and so does sh: the Popen's pid is podman's
        return [
            "nsenter",
            f"--net=/var/run/netns/{self.netns}",
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-ec",
            f"{mounts} && {service}",
        ]

    def start(self, timeout: float = 60.0) -> None:
        make_netns(self.netns)
        self.base.mkdir(parents=True, exist_ok=True)
        conf = self.base / "containers.conf"
        conf.write_text(containers_conf(self.base))
        log = open(self.base / "podman.log", "ab")
        env = {**os.environ, "CONTAINERS_CONF": str(conf)}
        self.proc = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
        log.close()
        self.pidfile.write_text(f"{self.proc.pid}\n")
        self.wait_until_it_answers(timeout)

    def log_tail(self) -> str:
        return (self.base / "podman.log").read_text(errors="replace")[-2000:]

    def run(self, name: str | None = None, hostname: str | None = None, command: list[str] | None = None, **kwargs):
        """A container in this bed's cgroup parent (see ``EngineProcess.run``)."""
        kwargs.setdefault("cgroup_parent", self.cgroup_parent)
        return super().run(name, hostname, command, **kwargs)

    def remove_all(self) -> None:
        """Every container (force: the compat API kills, no 10 s stop timeout) and every network but the default."""
        super().remove_all()
        for network in self.client.networks.list():
            if network.name not in ("podman", "bridge"):
                try:
                    network.remove()
                except Exception:
                    pass

    def stop(self) -> None:
        """Containers first (they outlive the service), then the service by PID, then what its cgroup still holds."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.remove_all()
            except Exception:
                pass
        self.end_process()
        remove_podman_cgroups(self.base)
        self.pidfile.unlink(missing_ok=True)


def _mode(directory: str) -> str:
    return "1777" if directory in ("/var/tmp", "/dev/shm") else "755"


def _cgroup_dirs(base: Path) -> list[Path]:
    """The bed's cgroup parent in each hierarchy: cgroup v1 controllers, the hybrid's unified tree, or v2's one."""
    name = cgroup_parent_of(base).lstrip("/")
    return [path for path in (CGROUP_ROOT / name, *CGROUP_ROOT.glob(f"*/{name}")) if path.is_dir()]


def remove_podman_cgroups(base: Path) -> None:
    """Kill (by PID) the processes left in the bed's cgroup parent (containers, conmon), then remove its cgroups."""
    for top in _cgroup_dirs(base):
        for directory, _, _ in os.walk(top, topdown=False):
            try:
                pids = [int(line) for line in (Path(directory) / "cgroup.procs").read_text().split()]
            except (OSError, ValueError):
                pids = []
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            wait_for(lambda: _empty(Path(directory)), 10, 0.05)
            try:
                os.rmdir(directory)
            except OSError:
                pass


def _empty(cgroup: Path) -> bool:
    try:
        return not (cgroup / "cgroup.procs").read_text().strip()
    except OSError:
        return True
