"""dockernet watch as an unprivileged user: what it needs, what it writes, and what it refuses at start-up.

The user is a uid and gid that no account uses, given to the process by
``setpriv`` (nothing is added to /etc), with a second free gid as its
supplementary group: the private dockerd's socket is handed to that group,
as Docker's socket is to ``docker``. Its key (0400), state and runtime
directories are its own, as the systemd example gives them.

It runs Debian's python3 on a copy of this tree's dockernet and of its
runtime dependencies that everyone may read: the suite's own interpreter
may live where that user may not look (a pyenv build under /root).
"""

import grp
import importlib.metadata
import os
import pwd
import random
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.harness import REPO, PrivateNamed, need, stop_pid, wait_for

PYTHON = "/usr/bin/python3"
DROP_IN = REPO / "examples/systemd/dockernet-watch.service.d/send-from-container.conf"


def free_ids(count: int) -> list[int]:
    """Ids that no account and no group uses (a high range, away from any distribution's)."""
    found: list[int] = []
    while len(found) < count:
        candidate = random.randint(400_000, 900_000)
        try:
            pwd.getpwuid(candidate)
            continue
        except KeyError:
            pass
        try:
            grp.getgrgid(candidate)
            continue
        except KeyError:
            pass
        found.append(candidate)
    return found


def copy_runtime(dest: Path) -> Path:
    """dockernet (this tree's) and the files of every distribution it needs to run, under ``dest``."""
    seen, todo = set(), ["dockernet"]
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        seen.add(key)
        distribution = importlib.metadata.distribution(name)
        for line in distribution.requires or ():
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
        if key == "dockernet":
            continue
        for file in distribution.files or ():
            source = Path(file.locate())
            if ".." in file.parts or source.suffix == ".pyc" or not source.is_file():
                continue
            (dest / file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest / file)
    shutil.copytree(REPO / "dockernet", dest / "dockernet", ignore=shutil.ignore_patterns("__pycache__"))
    for path in [dest, *dest.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return dest


@pytest.fixture(scope="module")
def runtime(run_dir):
    need(PYTHON)
    need("setpriv")
    base = run_dir[0] / "least-privilege"
    base.mkdir(exist_ok=True)
    site = copy_runtime(base / "site")
    # the user must reach its files and the socket through these: /tmp/dnt-<pid> is 0755 when made
    for directory in (run_dir[0], base):
        directory.chmod(0o755)
    return site


@dataclass
class Unprivileged:
    """One throwaway user: its ids, its home (key, state, run), and how to run dockernet as it."""

    uid: int
    gid: int
    socket_gid: int
    home: Path
    site: Path

    @property
    def key(self) -> Path:
        return self.home / "ddns.key"

    @property
    def state(self) -> Path:
        return self.home / "state"

    @property
    def run(self) -> Path:
        return self.home / "run"

    def command(self, *args: str, caps: tuple[str, ...] = ()) -> list[str]:
        """setpriv then Debian's python3 -m dockernet ARGS, with no capability but ``caps`` (setpriv's names)."""
        granted = "".join(f",+{name}" for name in caps)
        return [
            "setpriv",
            f"--reuid={self.uid}",
            f"--regid={self.gid}",
            f"--groups={self.socket_gid}",
            "--no-new-privs",
            f"--inh-caps=-all{granted}",
            f"--ambient-caps=-all{granted}",
            f"--bounding-set=-all{granted}",
            PYTHON,
            "-m",
            "dockernet",
            *args,
        ]

    def env(self) -> dict:
        """What systemd would give it, less: no HOME, no Docker or dockernet settings from the test's own."""
        return {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(self.site), "LANG": "C.UTF-8"}

    def files_owned(self, *roots: Path) -> set[Path]:
        """Every path under ``roots`` (one file system each) that this uid owns."""
        found = subprocess.run(
            ["find", *map(str, roots), "-xdev", "-uid", str(self.uid)], capture_output=True, text=True
        ).stdout
        return {Path(line) for line in found.splitlines()}


@pytest.fixture
def user(runtime, run_dir, dockerd, named, owner):
    """The user, its key (a copy of named's, 0400), its state and runtime dirs; the socket given to its group."""
    uid, gid, socket_gid = free_ids(3)
    home = run_dir[0] / "least-privilege" / owner
    home.mkdir()
    made = Unprivileged(uid, gid, socket_gid, home, runtime)
    shutil.copyfile(named.key_file, made.key)
    made.state.mkdir()
    made.run.mkdir()
    for path, mode in ((home, 0o700), (made.key, 0o400), (made.state, 0o700), (made.run, 0o755)):
        os.chown(path, uid, gid)
        path.chmod(mode)
    socket = dockerd.socket.stat()
    os.chown(dockerd.socket, -1, socket_gid)
    try:
        yield made
    finally:
        if dockerd.socket.exists():
            os.chown(dockerd.socket, -1, socket.st_gid)
        shutil.rmtree(home, ignore_errors=True)


def watch_args(user, dockerd, named, owner, *more):
    return (
        "--docker-host",
        dockerd.url,
        "watch",
        *named.client_args(user.key),
        "--owner-id",
        owner,
        "--docker-pid",
        str(dockerd.pidfile),
        "--state-dir",
        str(user.state),
        "--settle-time",
        "1",
        *more,
    )


def status_of(pid: int) -> dict:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def test_watch_as_a_user_without_privileges_publishes_and_writes_only_its_state_and_run_dirs(
    user, dockerd, named, containers, label, owner
):
    log = user.home.parent / f"{owner}.log"  # the test's file (stdout, as journald would take it), not the user's
    pidfile = user.run / "watch.pid"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            user.command(*watch_args(user, dockerd, named, owner, "--pidfile", str(pidfile), "-")),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=user.env(),
            cwd=user.home,  # its own directory: a file written relative to the cwd would be caught below
        )
    try:
        assert wait_for(lambda: "Watching Docker events" in log.read_text() or proc.poll() is not None, 30)
        assert proc.poll() is None, log.read_text()
        status = status_of(proc.pid)
        assert status["Uid"].split()[:2] == [str(user.uid)] * 2 and int(status["CapEff"], 16) == 0, status
        assert pidfile.read_text().strip() == str(proc.pid)

        container = containers(hostname=label)
        address = dockerd.address_of(container)
        assert wait_for(lambda: named.query(label) == {address}), log.read_text()[-2000:]
        proc.send_signal(signal.SIGHUP)  # re-reads the key it alone may read
        assert wait_for(lambda: "Now signing with key" in log.read_text()), log.read_text()[-2000:]
        container.remove(force=True)
        assert wait_for(lambda: named.query(label) == set()), log.read_text()[-2000:]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0, log.read_text()[-2000:]
    finally:
        if proc.poll() is None:
            stop_pid(proc.pid)
            proc.wait(timeout=10)
    # everything this uid owns where it could write: its home (the test made it, the key and the two
    # directories), the run dir and every world-writable place
    owned = user.files_owned(Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"), user.home)
    journal = user.state / f"records-{owner}.journal"
    assert owned == {user.home, user.key, user.state, user.run, journal}, owned
    assert list(user.run.iterdir()) == []  # the pid file is gone with a clean stop


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("send-from", "--send-from container needs CAP_SYS_ADMIN and CAP_SYS_PTRACE to enter containers'"),
        ("key", "key file {named_key} is not readable by user id {uid}: "),
        ("state", "state directory {root_dir}/state is not writable by user id {uid} (it would be made in {root_dir})"),
        ("pidfile", "pid file {root_dir}/watch.pid cannot be written by user id {uid} (its directory {root_dir} is"),
        ("socket", "Docker's socket {socket} may not be opened by user id {uid}: add the user to the socket's group"),
        ("journal", "journal {journal} is not readable and writable by user id {uid}: give it back (chown {uid} "),
    ],
)
def test_what_its_privileges_rule_out_is_one_line_at_start_up_exit_2(user, dockerd, named, owner, case, expected):
    args = list(watch_args(user, dockerd, named, owner, "-"))
    if case == "send-from":
        args[-1:-1] = ["--send-from", "container"]
    elif case == "key":
        args[args.index("--key-file") + 1] = str(named.key_file)  # root's, 0600
    # a directory root keeps (as /var/lib and /run are), made here: a host's own /run may be a tmpfs anyone may write
    root_dir = user.home / "roots"
    root_dir.mkdir(mode=0o755)
    if case == "state":
        args[args.index("--state-dir") + 1] = str(root_dir / "state")
    elif case == "pidfile":
        args[-1:-1] = ["--pidfile", str(root_dir / "watch.pid")]
    elif case == "socket":
        os.chown(dockerd.socket, -1, 0)  # the fixture gives it back to its group afterwards
    journal = user.state / f"records-{owner}.journal"
    if case == "journal":  # as a `dns sync` run by root leaves it: root's, 0600
        journal.write_text("")
        journal.chmod(0o600)
    before = set(user.state.iterdir())
    result = subprocess.run(
        user.command(*args), capture_output=True, text=True, env=user.env(), cwd=user.home, timeout=60
    )
    message = expected.format(
        named_key=named.key_file, uid=user.uid, socket=dockerd.socket, journal=journal, root_dir=root_dir
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith(f"dockernet: error: {message}") and result.stderr.count("\n") == 1, result.stderr
    assert result.stdout == "" and set(user.state.iterdir()) == before  # refused before anything was written


def drop_in_capabilities() -> tuple[str, ...]:
    """AmbientCapabilities of the shipped drop-in, as setpriv names them (cap_sys_admin -> sys_admin)."""
    line = next(line for line in DROP_IN.read_text().splitlines() if line.startswith("AmbientCapabilities="))
    return tuple(name.lower().removeprefix("cap_") for name in line.split("=", 1)[1].split())


def test_send_from_container_works_with_exactly_the_drop_ins_capabilities_and_not_one_less(
    user, dockerd, run_dir, containers, label, owner
):
    """The drop-in's capabilities, and nothing else, let an unprivileged watcher send from a container.

    It runs with /proc mounted as ProtectProc=invisible mounts it (in a mount namespace of its own): only
    CAP_SYS_PTRACE lets it see and open a root process's /proc/<pid>/ns/net.
    """
    need("unshare")
    caps = drop_in_capabilities()
    assert set(caps) == {"sys_admin", "sys_ptrace"}
    # named in the engine's namespace, granting updates to the containers' subnet (as test_send_from.py)
    named = PrivateNamed(run_dir[0], name=f"named-lp-{label}", netns=dockerd.netns)
    named.provision()
    conf = named.dir / "named.conf"
    text = conf.read_text().replace(
        f"listen-on port {named.port} {{ 127.0.0.1; }};", f"listen-on port {named.port} {{ 127.0.0.1; 10.1.0.1; }};"
    )
    conf.write_text(text.replace('allow-update { key "ddns-key"; };', "allow-update { 10.1.0.0/16; 127.0.0.1; };"))
    named.start()
    try:
        container = containers(hostname=label)
        address = dockerd.address_of(container)
        args = watch_args(user, dockerd, named, owner, "--no-key", "--send-from", "container", "--once", "-")
        args = tuple(arg if arg != "127.0.0.1" else "10.1.0.1" for arg in args)

        def once(granted):
            hidden = (
                f"mount -t proc -o hidepid=invisible proc /proc && exec nsenter --net=/var/run/netns/{dockerd.netns} "
            )
            return subprocess.run(
                ["unshare", "--mount", "--propagation", "private", "sh", "-c", hidden + '"$@"', "sh"]
                + user.command(*args, caps=granted),
                capture_output=True,
                text=True,
                env=user.env(),
                cwd=user.home,
                timeout=60,
            )

        for fewer in caps:  # one less: refused at start-up, nothing sent
            result = once(tuple(name for name in caps if name != fewer))
            assert result.returncode == 2 and f"runs without cap_{fewer}".upper() in result.stderr.upper(), result
        assert named.query(label) == set()
        result = once(caps)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr
        assert named.query(label) == {address}
        # named saw the add come from the container's own address
        assert named.logged_add_from(label, address), (named.dir / "named.log").read_text()[-2000:]
    finally:
        named.stop()
