"""The shipped supervision examples are valid for the real tools and for dockernet's own CLI."""

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from dockernet.cli.root import watch
from tests.harness import REPO

IN_CI = os.environ.get("CI") == "true"
EXAMPLES = REPO / "examples"


def need(tool):
    if shutil.which(tool) is None:
        if IN_CI:
            pytest.fail(f"{tool} is missing under CI")
        pytest.skip(f"needs {tool}")


def defaults_env():
    """The EnvironmentFile as systemd reads it: KEY=VALUE lines, comments ignored."""
    env = {}
    for line in (EXAMPLES / "systemd" / "dockernet.default").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def parse_watch_args(args, env, monkeypatch):
    """Parse ``dockernet watch ARGS`` exactly as the CLI would, with ``env`` set; raises on a bad option."""
    for key in ("NET_NS", "NET_DOMAIN", "DDNS_KEY", "DOCKER_PID"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return watch.make_context("watch", list(args))


def test_systemd_unit_verifies_and_its_command_line_parses(tmp_path, monkeypatch):
    need("systemd-analyze")
    text = (EXAMPLES / "systemd" / "dockernet-watch.service").read_text()
    exec_start = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    argv = shlex.split(exec_start.split("=", 1)[1])
    assert argv[0] == "/usr/local/bin/dockernet" and argv[1] == "watch"
    assert "EnvironmentFile=-/etc/default/dockernet" in text and "Type=notify" in text and "MemoryMax=50M" in text
    # verify with the binary this test suite installed standing in for /usr/local/bin/dockernet
    installed = Path(sys.executable).with_name("dockernet")
    unit = tmp_path / "dockernet-watch.service"
    unit.write_text(text.replace("/usr/local/bin/dockernet", str(installed)))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr
    ctx = parse_watch_args(argv[2:], defaults_env(), monkeypatch)
    assert str(ctx.params["zone"]) == "docker.test." and ctx.params["key_file"] == "/etc/bind/ddns.key"
    assert ctx.params["server"] == "127.0.0.1" and ctx.params["docker_pid"] == "/var/run/docker.pid"
    assert ctx.params["pidfile"] == "/run/dockernet/watch.pid" and ctx.params["log_to"] == "-"


def test_monit_check_is_valid_and_keeps_the_seeds_rules(tmp_path, monkeypatch):
    need("monit")
    text = (EXAMPLES / "monit" / "dockernet.conf").read_text()
    control = tmp_path / "monitrc"
    control.write_text(text)
    control.chmod(0o600)  # monit refuses a control file others can read
    result = subprocess.run(
        ["monit", "-t", "-c", str(control)], capture_output=True, text=True, env={**os.environ, "HOME": str(tmp_path)}
    )
    assert result.returncode == 0 and "syntax OK" in result.stdout + result.stderr, result.stdout + result.stderr
    assert "if totalmem > 50.0 MB for 5 cycles then restart" in text
    assert "depends on docker" in text
    # the pid file monit watches is the one the start program tells dockernet to write
    start = next(line for line in text.splitlines() if "start program" in line and "dockernet watch" in line)
    inner = shlex.split(start.split('"')[1])[2]  # the sh -c script
    argv = shlex.split(inner.split("exec ", 1)[1])
    assert argv[0] == "/usr/local/bin/dockernet"
    ctx = parse_watch_args(argv[2:], defaults_env(), monkeypatch)
    assert "check process dockernet with pidfile " + ctx.params["pidfile"] in text
    assert ctx.params["log_to"] == "/var/log/dockernet.log"


def test_watch_rejects_an_unknown_option_so_the_checks_above_can_fail(monkeypatch):
    with pytest.raises(click.UsageError):
        parse_watch_args(["--no-such-option"], defaults_env(), monkeypatch)
