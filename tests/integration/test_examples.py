"""The shipped supervision examples are valid for the real tools and for dockernet's own CLI."""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from dockernet.cli.root import watch
from tests.harness import REPO, need

EXAMPLES = REPO / "examples"


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
    assert str(ctx.params["zone"]) == "docker.test." and ctx.params["key_file"] == "/etc/dockernet/ddns.key"
    assert ctx.params["server"] == "127.0.0.1" and ctx.params["docker_pid"] == "/var/run/docker.pid"
    assert ctx.params["pidfile"] == "/run/dockernet/watch.pid" and ctx.params["log_to"] == "-"
    # the journal and the pid file go where systemd makes directories for the unit's user
    assert ctx.params["state_dir"] == "/var/lib/" + unit_setting(text, "StateDirectory")
    assert ctx.params["pidfile"].startswith("/run/" + unit_setting(text, "RuntimeDirectory") + "/")


def unit_setting(text, name):
    """The last value a unit file gives ``name`` (the one systemd keeps for most settings)."""
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(name + "=")][-1]


def installed_copy(tmp_path, drop_in=False):
    """The unit alone (or with its drop-in directory) in an empty directory, ExecStart on this suite's binary.

    ``systemd-analyze`` reads a unit's drop-ins from NAME.service.d beside it, so the unit is measured
    as it is shipped without the drop-in only in a directory of its own.
    """
    installed = Path(sys.executable).with_name("dockernet")
    unit = tmp_path / "dockernet-watch.service"
    text = (EXAMPLES / "systemd" / "dockernet-watch.service").read_text()
    unit.write_text(text.replace("/usr/local/bin/dockernet", str(installed)))
    if drop_in:
        shutil.copytree(EXAMPLES / "systemd" / "dockernet-watch.service.d", tmp_path / "dockernet-watch.service.d")
    return unit


def exposure(unit):
    """``systemd-analyze security --offline=yes --threshold=29``: (exit status, the overall exposure, its output).

    The threshold is in tenths: the command fails when the exposure is above 2.9.
    """
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--threshold=29", str(unit)],
        capture_output=True,
        text=True,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout)
    assert found, result.stdout + result.stderr
    return result.returncode, float(found.group(1)), result.stdout


def test_systemd_unit_runs_without_privileges_at_exposure_2_9_or_below(tmp_path):
    need("systemd-analyze")
    unit = installed_copy(tmp_path)
    status, level, report = exposure(unit)
    print(f"systemd-analyze security: dockernet-watch.service exposure {level}")
    assert status == 0 and level <= 2.9, report
    text = unit.read_text()
    assert unit_setting(text, "User") == "dockernet" and unit_setting(text, "SupplementaryGroups") == "docker"
    assert unit_setting(text, "CapabilityBoundingSet") == "" and unit_setting(text, "NoNewPrivileges") == "yes"
    # the same check fails a unit without the sandbox: the one this example was before (9.6 UNSAFE)
    bare = tmp_path / "bare" / "dockernet-watch.service"
    bare.parent.mkdir()
    bare.write_text("\n".join(line for line in text.splitlines() if "=" not in line or line.split("=")[0] in BARE))
    status, level, report = exposure(bare)
    assert status != 0 and level > 2.9, report


#: the settings the unit had before it was sandboxed
BARE = {"Description", "After", "Wants", "Type", "NotifyAccess", "WatchdogSec", "EnvironmentFile", "ExecStart"}
BARE |= {"ExecReload", "Restart", "RestartSec", "RuntimeDirectory", "StateDirectory", "MemoryMax", "WantedBy"}


def test_send_from_container_drop_in_verifies_and_adds_only_its_two_capabilities(tmp_path):
    need("systemd-analyze")
    unit = installed_copy(tmp_path, drop_in=True)
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr
    status, level, report = exposure(unit)
    print(f"systemd-analyze security: with send-from-container.conf, exposure {level}")
    assert status == 0 and level <= 2.9, report
    flagged = {line.split()[1] for line in report.splitlines() if line.startswith("✗ CapabilityBoundingSet=")}
    assert flagged == {"CapabilityBoundingSet=~CAP_SYS_ADMIN", "CapabilityBoundingSet=~CAP_SYS_PTRACE"}, report
    (tmp_path / "alone").mkdir()
    _, alone, _ = exposure(installed_copy(tmp_path / "alone"))
    assert alone < level  # the drop-in is what adds them


def test_readme_systemd_commands_install_the_shipped_files_as_the_unit_expects():
    readme = (REPO / "README.md").read_text()
    section = readme.split("### As a systemd service, without root", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    commands = [shlex.split(command) for line in block.strip().splitlines() for command in line.split("&&")]
    unit_text = (EXAMPLES / "systemd" / "dockernet-watch.service").read_text()
    exec_start = shlex.split(unit_setting(unit_text, "ExecStart"))
    installs = {words[-1]: words[-2] for words in commands if words[0] == "install"}
    # every file it installs from this checkout exists, and lands where the unit and the defaults file look
    for source in installs.values():
        assert source.startswith("/var/lib/dockernet/named/") or (REPO / source).is_file(), source
    assert installs["/etc/systemd/system/dockernet-watch.service"] == "examples/systemd/dockernet-watch.service"
    assert installs["/etc/default/dockernet"] == "examples/systemd/dockernet.default"
    assert unit_setting(unit_text, "EnvironmentFile").lstrip("-") == "/etc/default/dockernet"
    assert defaults_env()["DDNS_KEY"] in installs
    key_install = next(words for words in commands if words[0] == "install" and words[-1] == defaults_env()["DDNS_KEY"])
    assert ["-o", "dockernet"] == key_install[key_install.index("-o") : key_install.index("-o") + 2]
    assert key_install[key_install.index("-m") + 1] == "0400"
    # the binary the unit runs is the one the first line links
    assert any(words[:2] == ["ln", "-s"] and words[-1] == exec_start[0] for words in commands), exec_start
    # the user and group the unit names are the ones made
    useradd = next(words for words in commands if words[0] == "useradd")
    assert useradd[-1] == unit_setting(unit_text, "User")
    assert useradd[useradd.index("--groups") + 1] == unit_setting(unit_text, "SupplementaryGroups")
    assert ["systemctl", "enable", "--now", "dockernet-watch"] in commands
    # the drop-in the prose names is shipped
    drop_in = re.search(r"`(examples/systemd/dockernet-watch\.service\.d/[^`]+)`", section)
    assert drop_in and (REPO / drop_in.group(1)).is_file()


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
