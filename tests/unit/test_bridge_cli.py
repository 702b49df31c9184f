"""``dockernet bridge`` at the command line: a value that is not what its option says is one line, exit 2,
before any file is read or written (and before any netlink socket: the namespace named here does not exist,
so a command that got past validation would fail with another message, and still touch nothing of the host)."""

from __future__ import annotations

import os

import pytest

from tests.harness import run_cli

FILES = {
    "daemon.json": '{\n  "log-level": "warn"\n}\n',
    "docker": 'DOCKER_OPTS="-b=docker0 -dns 10.1.0.1"\n',
    "docker0": "# written by dockernet bridge setup --cidr 10.1.0.0/16\nauto docker0\n",
}


def bridge_args(tmp_path, command="setup"):
    args = [
        "--docker-host",
        "unix:///nonexistent/docker.sock",
        "bridge",
        command,
        "--netns",
        f"dnt-absent-{os.getpid()}",
        "--daemon-json",
        str(tmp_path / "daemon.json"),
        "--defaults-file",
        str(tmp_path / "docker"),
    ]
    if command != "show":
        args += [
            "--interfaces-file",
            str(tmp_path / "docker0"),
            "--unit-dir",
            str(tmp_path / "units"),
            "--docker-pid",
            str(tmp_path / "docker.pid"),
        ]
    return args + (["--cidr", "10.1.0.0/16"] if command == "setup" else [])


@pytest.mark.parametrize(
    "option, value, words",
    [
        ("--dns", "$(touch {marker})", ["'--dns'", "is not an IP address"]),
        ("--dns", "fe80::1%$(touch {marker})", ["is not an IP address"]),
        ("--dns", "1.1.1.1\npre-up touch {marker}", ["is not an IP address", "\\n"]),
        ("--dns-search", "$(touch {marker})", ["'--dns-search'", "is not a domain name"]),
        ("--dns-search", "`touch {marker}`", ["is not a domain name"]),
        ("--dns-search", 'a";touch {marker};"', ["is not a domain name"]),
        ("--dns-search", "a'b", ["is not a domain name", "a\\'b"]),
        ("--dns-search", "a\\b", ["is not a domain name"]),
        ("--dns-search", "docker.test\npre-up touch {marker}", ["is not a domain name", "\\n"]),
        ("--dns-search", "a;b", ["is not a domain name"]),
        ("--dns-search", "$HOME", ["is not a domain name"]),
        ("--name", "$(reboot)", ["'--name'", "is not a valid interface name"]),
        ("--name", "br0\npre-up", ["is not a valid interface name"]),
        ("--name", "a-name-far-too-long", ["is not a valid interface name"]),
        ("--mtu", "1400\npre-up touch {marker}", ["'--mtu'", "is not a valid integer"]),
        ("--mtu", "10", ["'--mtu'", "10 is not in the range 68<=x<=65535"]),
        ("--mtu", "x", ["'--mtu'"]),
    ],
)
def test_an_invalid_value_is_one_line_exit_2_and_no_file_changes(tmp_path, option, value, words):
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    marker = tmp_path / "marker"
    result = run_cli(*bridge_args(tmp_path), option, value.format(marker=marker))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dockernet: error: "), result.stderr
    for word in words:
        assert word in lines[0]
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == FILES
    assert not os.path.exists("{marker}") or "touch" not in value  # nothing was run (the marker is the test's)


@pytest.mark.parametrize("command", ["teardown", "show"])
def test_teardown_and_show_take_only_an_interface_name(tmp_path, command):
    result = run_cli(*bridge_args(tmp_path, command), "--name", "../../etc/x")
    assert result.returncode == 2 and "is not a valid interface name" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
