"""``bridge setup`` proven by starting Docker: every starting state × every --config mode, on a real dockerd.

For each case a throwaway namespace and files of the test's own: ``bridge
setup`` runs against them, then a private dockerd starts the way Debian
starts it (daemon.json as its configuration file, the words of DOCKER_OPTS
as sourced by a shell where the unit reads them, the unit's own ExecStart
flags), and a container must get an address of the new subnet on the new
bridge. A case dockernet refuses must exit 1 with files and link unchanged.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess

import pytest

from tests.harness import PREFIX, PrivateDockerd, delete_netns, make_netns, run_cli

CIDR, GATEWAY = "10.1.0.0/16", "10.1.0.1"
DEBIAN_UNIT = "[Service]\nEnvironmentFile=-/etc/default/docker\nExecStart=/usr/sbin/dockerd -H fd:// $DOCKER_OPTS\n"

#: name -> (daemon.json, /etc/default/docker, {unit file: text}); None: no such file
STATES = {
    "seed": (None, 'DOCKER_OPTS="-b=docker0 -dns 10.1.0.1"\n', {}),
    "bip in daemon.json": ('{\n  "bip": "172.30.0.1/16",\n  "log-level": "warn"\n}\n', None, {}),
    "bip in DOCKER_OPTS": (
        None,
        'DOCKER_OPTS="--bip=172.30.0.1/16 --log-level=warn"\n',
        {"docker.service": DEBIAN_UNIT},
    ),
    "bip in daemon.json, bridge in DOCKER_OPTS": ('{\n  "bip": "172.30.0.1/16"\n}\n', 'DOCKER_OPTS="-b br0"\n', {}),
    "fixed-cidr outside": ('{\n  "fixed-cidr": "172.30.0.0/24"\n}\n', None, {}),
    "fixed-cidr inside, DOCKER_OPTS dns": (
        '{\n  "fixed-cidr": "10.1.128.0/17"\n}\n',
        'DOCKER_OPTS="--dns=8.8.8.8"\n',
        {"docker.service": DEBIAN_UNIT},
    ),
    "default pool overlapping": ('{\n  "default-address-pools": [{"base": "10.0.0.0/8", "size": 24}]\n}\n', None, {}),
    "drop-in with -b": (
        None,
        None,
        {
            "docker.service": DEBIAN_UNIT,
            "docker.service.d/bridge.conf": "[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd -H fd:// -b br0\n",
        },
    ),
}
REFUSED = {"default pool overlapping": "overlaps 10.1.0.0/16", "drop-in with -b": "ExecStart line of"}
MODES = ("auto", "daemon-json", "docker-opts")
_count = itertools.count()


def write_state(directory, state):
    daemon_json, defaults, units = state
    if daemon_json is not None:
        (directory / "daemon.json").write_text(daemon_json)
    if defaults is not None:
        (directory / "docker").write_text(defaults)
    for name, text in units.items():
        path = directory / "units" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (directory / "units").mkdir(exist_ok=True)


def files_of(directory):
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def dockerd_argv(directory) -> tuple[dict, list[str]]:
    """What dockerd would read on a Debian host: daemon.json, and the flags its unit gives it."""
    settings = json.loads((directory / "daemon.json").read_text()) if (directory / "daemon.json").exists() else {}
    units = [p for p in (directory / "units").rglob("*") if p.is_file()]
    exec_lines = [
        line.split("=", 1)[1]
        for p in sorted(units)
        for line in p.read_text().splitlines()
        if line.startswith("ExecStart=") and line.split("=", 1)[1]
    ]
    reads_opts = not units or any("$DOCKER_OPTS" in line for line in exec_lines)
    flags: list[str] = []
    if reads_opts and (directory / "docker").exists():  # as the unit's EnvironmentFile / the init script's shell
        words = subprocess.run(
            ["bash", "-c", f'. {directory / "docker"}; printf "%s\\n" $DOCKER_OPTS'],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
        flags += [word for word in words if word]
    return settings, flags


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("state_name", list(STATES))
def test_docker_starts_with_what_bridge_setup_wrote_or_nothing_changes(run_dir, tmp_path, state_name, mode):
    base, _ = run_dir
    netns = f"{PREFIX}{os.getpid()}-m{next(_count)}"
    make_netns(netns)
    dockerd = None
    try:
        write_state(tmp_path, STATES[state_name])
        before = files_of(tmp_path)
        result = run_cli(
            "--docker-host",
            "unix:///nonexistent/docker.sock",
            "bridge",
            "setup",
            "--netns",
            netns,
            "--cidr",
            CIDR,
            "--config",
            mode,
            "--daemon-json",
            str(tmp_path / "daemon.json"),
            "--defaults-file",
            str(tmp_path / "docker"),
            "--no-interfaces-file",
            "--unit-dir",
            str(tmp_path / "units"),
            "--docker-pid",
            str(tmp_path / "docker.pid"),
        )
        if state_name in REFUSED:
            assert result.returncode == 1 and REFUSED[state_name] in result.stderr, result.stderr
            assert len(result.stderr.strip().splitlines()) == 1, result.stderr
            assert files_of(tmp_path) == before
            links = subprocess.run(["ip", "-n", netns, "-o", "link", "show", "docker0"], capture_output=True)
            assert links.returncode != 0, "the link was made although the setup was refused"
            return
        assert result.returncode == 0, result.stderr

        settings, flags = dockerd_argv(tmp_path)
        dockerd = PrivateDockerd(
            base / f"matrix{next(_count)}", netns, bip=None, extra_args=tuple(flags), settings=settings
        )
        dockerd.start()  # raises with dockerd's log when it refuses the configuration
        dockerd.import_busybox()
        container = dockerd.run()
        address = dockerd.address_of(container)
        network = dockerd.client.networks.get("bridge").attrs
        assert network["Options"].get("com.docker.network.bridge.name") == "docker0"
        assert network["IPAM"]["Config"][0]["Subnet"] == CIDR and network["IPAM"]["Config"][0]["Gateway"] == GATEWAY
        assert address.startswith("10.1.") and address != GATEWAY
    finally:
        if dockerd is not None:
            dockerd.remove_all()
            dockerd.stop()
        delete_netns(netns)
