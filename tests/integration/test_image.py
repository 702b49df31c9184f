"""The container image, built from the real Dockerfile and run as the README says, against a private engine and named.

The tests have no registry: the base the Dockerfile names is imported from the tar ``scripts/image-base``
made from Debian (only when the engine lacks that tag), and the build installs dockernet's dependencies
from the wheelhouse ``scripts/install-deps --test`` downloaded (a ``wheelhouse/`` in the build context),
as the private engine's namespace has no network. Everything else is the README's block as written, with
only the host's paths and the DNS port replaced by this run's.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from datetime import datetime
from pathlib import Path

import docker.errors
import pytest

from tests.docblocks import blocks
from tests.harness import IMAGE, REPO, PrivateNamed, need, wait_for

BASE_TAR = Path("/var/cache/dockernet/debian-bookworm-slim.tar")
BASE_TAG = "debian:bookworm-slim"
WHEELHOUSE = Path("/var/cache/dockernet/wheelhouse")
HEADING = "### As a container image"
#: the image's user (Dockerfile: USER 10001:10001)
IMAGE_UID = 10001
#: the name the README's `docker run` gives the watcher's container
WATCHER = "dockernet"


def readme_commands() -> list[str]:
    """The commands of the README's image block, each continued line joined into one."""
    readme = REPO / "README.md"
    section = readme.read_text().split(HEADING, 1)[0].count("\n") + 1
    block = next(b for b in blocks(readme) if b.tag == "sh" and b.line > section)
    commands, current = [], ""
    for line in block.lines:
        current += line.removesuffix("\\").strip() + " "
        if not line.endswith("\\"):
            commands.append(current.strip())
            current = ""
    return commands


def test_the_readme_block_builds_installs_the_key_runs_and_shows_the_logs():
    verbs = [" ".join(command.split()[:2]) for command in readme_commands()]
    assert verbs == ["docker build", "install -D", "docker run", "docker logs"], verbs


class ImageHost:
    """The host the README's block assumes, made of this run's parts: what is replaced, and nothing else."""

    def __init__(self, dockerd, named: PrivateNamed, workdir: Path):
        self.dockerd = dockerd
        self.named = named
        self.workdir = workdir
        self.key_dir = workdir / "etc-dockernet"
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": str(workdir),
            "DOCKER_HOST": dockerd.url,
            # the classic builder: Debian 12's engine and CLI build with it, and a newer CLI without buildx too
            "DOCKER_BUILDKIT": "0",
        }

    def substitute(self, command: str) -> str:
        command = command.replace("/var/lib/dockernet/named/ddns.key", str(self.named.key_file))
        command = command.replace("/etc/dockernet/", f"{self.key_dir}/")
        # the host's side of a mount or a path argument, never the container's side (after a colon)
        command = re.sub(r"(?<![:\w/])/var/run/docker\.sock", str(self.dockerd.socket), command)
        return re.sub(r"--port 53(?=\s)", f"--port {self.named.port}", command)

    def run(self, command: str, cwd: Path) -> subprocess.CompletedProcess:
        done = subprocess.run(
            ["bash", "-c", self.substitute(command)],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=cwd,
            timeout=600,
        )
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        return done


@pytest.fixture(scope="module")
def image_host(dockerd, run_dir):
    base, netns = run_dir
    need(str(BASE_TAR), BASE_TAR.exists(), "scripts/image-base, run by scripts/install-deps --test")
    need(str(WHEELHOUSE), WHEELHOUSE.exists())
    assert shutil.which("docker") and shutil.which("git"), "docker and git come with scripts/install-deps --test"
    try:
        dockerd.client.images.get(BASE_TAG)
    except Exception:
        repository, tag = BASE_TAG.split(":")
        dockerd.client.api.import_image_from_file(str(BASE_TAR), repository=repository, tag=tag)
    # named on 127.0.0.1 of the engine's namespace: what --network host gives the watcher
    named = PrivateNamed(base, name="named-image", netns=netns)
    named.provision()
    named.start()
    workdir = base / "image"
    context = workdir / "context"
    subprocess.run(["git", "clone", "-q", str(REPO), str(context)], check=True)
    shutil.copytree(WHEELHOUSE, context / "wheelhouse")
    (context / "examples" / "compose" / "ddns.key").write_text("secret\n")  # an operator's, beside compose.yaml
    host = ImageHost(dockerd, named, workdir)
    yield host, context
    for container in dockerd.client.containers.list(all=True, filters={"name": WATCHER}):
        container.remove(force=True)
    named.stop()


@pytest.fixture(scope="module")
def watcher_container(image_host):
    """The README's block run in order: the image built, the key installed, the watcher started, its logs read."""
    host, context = image_host
    for command in readme_commands():
        host.run(command, cwd=context)
    container = host.dockerd.client.containers.get(WATCHER)
    started = wait_for(lambda: "Watching Docker events" in container.logs().decode(), timeout=60)
    assert started, container.logs().decode()[-2000:]
    return host, container


def test_the_image_is_small_and_runs_as_an_unprivileged_user(watcher_container):
    host, container = watcher_container
    image = host.dockerd.client.images.get(WATCHER)
    assert image.attrs["Config"]["User"] == f"{IMAGE_UID}:{IMAGE_UID}"
    assert image.attrs["Size"] < 80 * 1024 * 1024, image.attrs["Size"]
    # no shell, package manager or compiler: the final stage is the gathered tree alone
    created = host.dockerd.client.containers.create(WATCHER)
    try:
        for program in ("/bin/sh", "/usr/bin/apt-get", "/usr/bin/gcc", "/usr/bin/cc"):
            with pytest.raises(docker.errors.NotFound):
                created.get_archive(program)
        created.get_archive("/opt/dockernet/bin/dockernet")  # the probe can see what is there
        with pytest.raises(docker.errors.NotFound):  # the .dockerignore and setup.py keep keys out
            created.get_archive("/opt/dockernet/share/dockernet/examples/compose/ddns.key")
    finally:
        created.remove(force=True)
    container.reload()
    init_pid = container.attrs["State"]["Pid"]
    processes = [init_pid, *_children(init_pid)]
    assert len(processes) >= 2, "--init runs the watcher under docker-init"
    for pid in processes:
        status = dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
        assert status["Uid"].split() == [str(IMAGE_UID)] * 4, (pid, status["Uid"])
        # --cap-drop ALL and no-new-privileges, as the README runs it: no capability now or ever
        assert int(status["CapEff"], 16) == int(status["CapBnd"], 16) == 0, (pid, status["CapBnd"])
        assert status["NoNewPrivs"].strip() == "1"
    assert container.attrs["HostConfig"]["ReadonlyRootfs"] is True


def test_the_image_holds_the_examples(watcher_container):
    host, _ = watcher_container
    listed = host.dockerd.client.containers.run(WATCHER, ["examples", "--list"], remove=True).decode().split()
    assert "/opt/dockernet/share/dockernet/examples/systemd/dockernet-watch.service" in listed, listed


def test_a_container_is_published_and_removed(watcher_container, containers, label):
    host, _ = watcher_container
    started = containers(name=label, hostname=label)
    address = host.dockerd.address_of(started)
    assert wait_for(lambda: host.named.query(label) == {address}, timeout=20), host.named.query(label)
    started.remove(force=True)
    assert wait_for(lambda: host.named.query(label) == set(), timeout=20)


def test_sighup_rereads_the_key(watcher_container):
    _, container = watcher_container
    container.kill(signal="SIGHUP")
    assert wait_for(lambda: "SIGHUP: re-reading the key file" in container.logs().decode(), timeout=20)
    container.reload()
    assert container.status == "running"


def test_sigterm_ends_it_with_status_0_within_a_second(watcher_container):
    # last in this file: it stops the module's watcher
    _, container = watcher_container
    sent = time.time()
    container.kill(signal="SIGTERM")
    assert container.wait(timeout=30)["StatusCode"] == 0, container.logs().decode()[-2000:]
    container.reload()
    finished = _timestamp(container.attrs["State"]["FinishedAt"])
    assert finished - sent < 1.0, f"stopped {finished - sent:.2f} s after SIGTERM"


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *_children(int(child))]
    return found


def _timestamp(docker_time: str) -> float:
    """Docker's RFC 3339 time with nanoseconds, as seconds since the epoch."""
    whole, _, fraction = docker_time.rstrip("Z").partition(".")
    return datetime.fromisoformat(whole + "+00:00").timestamp() + float(f"0.{fraction or 0}")


def test_the_compose_example_runs_the_image_beside_a_service(image_host, watcher_container):
    need("docker-compose")
    host, readme_watcher = watcher_container
    readme_watcher.reload()
    if readme_watcher.status == "running":  # run alone: this watcher takes the README's place, owner id and port
        readme_watcher.stop(timeout=10)
    compose = REPO / "examples" / "compose" / "compose.yaml"
    host.dockerd.client.images.get(IMAGE).tag("busybox", "latest")  # the example's service image
    env = {
        **host.env,
        "DOCKER_GID": str(host.dockerd.socket.stat().st_gid),
        "DOCKER_SOCKET": str(host.dockerd.socket),
        "DOCKERNET_KEY": str(host.key_dir / "ddns.key"),  # installed for uid 10001 by the README's block
        "DOCKERNET_PORT": str(host.named.port),
    }
    project = ["docker-compose", "-f", str(compose), "-p", "dntcompose"]

    def compose(*verb: str) -> None:
        done = subprocess.run([*project, *verb], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]

    try:
        compose("up", "-d")
        (web1,) = host.dockerd.client.containers.list(filters={"label": "com.docker.compose.service=web1"})
        address = next(iter(web1.attrs["NetworkSettings"]["Networks"].values()))["IPAddress"]
        assert wait_for(lambda: host.named.query("web1") == {address}, timeout=30), host.named.query("web1")
        compose("rm", "--stop", "--force", "web1")
        assert wait_for(lambda: host.named.query("web1") == set(), timeout=30)
        compose("stop", "dockernet")
        (watcher,) = host.dockerd.client.containers.list(
            all=True, filters={"label": "com.docker.compose.service=dockernet"}
        )
        assert watcher.attrs["State"]["ExitCode"] == 0, watcher.attrs["State"]
    finally:
        subprocess.run([*project, "down", "-v"], env=env, capture_output=True, timeout=300)
