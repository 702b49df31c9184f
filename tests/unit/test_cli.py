"""The command line as a user meets it: help, usage errors and one-line failures."""

import stat

import pytest

from tests.harness import run_cli


def test_help_lists_finished_groups_only():
    result = run_cli("--help")
    assert result.returncode == 0
    assert "watch" in result.stdout and "dns" in result.stdout
    for group in ("bridge", "netns"):
        assert group in result.stdout


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("dockernet, version ")


def test_watch_help_shows_the_seed_environment_names():
    text = run_cli("watch", "--help").stdout
    for word in ("NET_NS", "NET_DOMAIN", "DDNS_KEY", "DOCKER_PID", "DOCKERNET_PORT", "DOCKERNET_TTL", "--once"):
        assert word in text


def test_adopting_its_own_owner_id_is_refused_before_any_io():
    result = run_cli(
        "watch",
        "--zone",
        "docker.test",
        "--owner-id",
        "web1",
        "--adopt-owner",
        "web1",
        "--no-key",
        "--server",
        "127.0.0.1",
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "dockernet: error: --adopt-owner names this watcher's own owner id 'web1': give the old owner id, the one the "
        "records carry now"
    ]


@pytest.mark.parametrize(
    "args, env, words",
    [
        (["watch"], {}, ["Missing option '--zone'"]),
        (["watch", "--zone", "a..b"], {}, ["is not a valid DNS name"]),
        (["watch"], {"NET_DOMAIN": "a..b"}, ["is not a valid DNS name"]),
        (["watch", "--zone", "docker.test", "--port", "0"], {}, ["--port"]),
        (["watch", "--zone", "docker.test", "--owner-id", "a,b"], {}, ["not a valid owner id"]),
        (["dns", "init", "--zone", "docker.test", "--dir", "/tmp/x", "--subnet", "10.1.0.0"], {}, ["is not a CIDR"]),
        (
            ["dns", "init", "--zone", "docker.test", "--dir", "/tmp/x", "--listen", "localhost"],
            {},
            ["is not an IP address"],
        ),
    ],
)
def test_bad_input_is_a_usage_error_before_any_io(args, env, words):
    result = run_cli(*args, env=env)
    assert result.returncode == 2
    for word in words:
        assert word in result.stderr
    assert "Traceback" not in result.stderr
    # click's own errors speak the tool's one-line style too, pointing at the right --help
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dockernet: error: ") and "--help')" in lines[0], lines


@pytest.mark.parametrize(
    "args, words",
    [
        (["dns", "purge", "--zone", "docker.test", "--owner", "x/../../pwn2"], ["not a valid owner id"]),
        (["dns", "ls", "--zone", "docker.test", "--owner", "a\nb"], ["not a valid owner id", "'a\\nb'"]),
        (["netns", "show", ""], ["'' is not a container name or id"]),
        (["netns", "detach", "a b", "--ifname", "eth1"], ["is not a container name or id"]),
        (["watch", "--zone", "docker.test", "--ttl", "90000"], ["--ttl 90000 is above --max-ttl 86400"]),
        (["dns", "init", "--zone", 'a"b.test', "--dir", "/tmp/never-made"], ["is not a valid DNS name"]),
    ],
)
def test_hostile_or_wrong_arguments_are_one_line_and_touch_nothing(args, words, tmp_path):
    result = run_cli(
        *args,
        env={
            "DOCKER_HOST": "unix:///nonexistent/docker.sock",
            "DDNS_KEY": str(tmp_path / "k"),
            "DOCKERNET_STATE_DIR": str(tmp_path / "state"),
        },
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("dockernet: error: "), result.stderr
    for word in words:
        assert word in lines[0]
    assert not (tmp_path / "state").exists() and not __import__("os").path.exists("/tmp/never-made")


@pytest.mark.parametrize(
    "content, words",
    [
        (None, ["does not exist"]),
        ("garbage", ["is not a BIND key file"]),
        ('key "k" { algorithm hmac-sha999; secret "YWJj"; };', ["hmac-sha999", "is not one BIND offers"]),
    ],
)
def test_key_file_problems_are_one_line(tmp_path, content, words):
    key = tmp_path / "ddns.key"
    if content is not None:
        key.write_text(content)
    # DDNS_KEY is the seed's variable name for the key file
    result = run_cli("watch", "--zone", "docker.test", "--once", env={"DDNS_KEY": str(key)})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dockernet: error: ") and str(key) in lines[0]
    for word in words:
        assert word in lines[0]


def test_dns_init_writes_a_private_key_and_refuses_to_overwrite(tmp_path):
    target = tmp_path / "named"
    result = run_cli("dns", "init", "--zone", "docker.test", "--dir", str(target), "--port", "5353")
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE((target / "ddns.key").stat().st_mode) == 0o600
    assert f"named -g -c {target / 'named.conf'}" in result.stdout
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    again = run_cli("dns", "init", "--zone", "docker.test", "--dir", str(target))
    assert again.returncode == 1 and "--force" in again.stderr and len(again.stderr.strip().splitlines()) == 1
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    secret_line = next(line for line in before["ddns.key"].decode().splitlines() if "secret" in line)
    assert secret_line.split('"')[1] not in result.stdout + again.stderr


def test_dns_init_conf_only_moves_the_port_and_keeps_key_and_zone(tmp_path):
    target = tmp_path / "named"
    run_cli("dns", "init", "--zone", "docker.test", "--dir", str(target), "--port", "53", check=True)
    zone_file = target / "docker.test.zone"
    zone_file.write_text(zone_file.read_text() + "web1\tIN A 10.1.0.2\n")  # what named keeps there
    kept = {name: (target / name).read_bytes() for name in ("ddns.key", "docker.test.zone")}
    result = run_cli(
        "dns", "init", "--zone", "docker.test", "--dir", str(target), "--port", "5300", "--conf-only", "--quiet"
    )
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""
    conf = (target / "named.conf").read_text()
    assert "listen-on port 5300 { 127.0.0.1; };" in conf and "port 53 " not in conf
    assert {name: (target / name).read_bytes() for name in kept} == kept


def test_dns_init_conf_only_without_an_earlier_init_writes_nothing(tmp_path):
    target = tmp_path / "named"
    target.mkdir()
    result = run_cli("dns", "init", "--zone", "docker.test", "--dir", str(target), "--conf-only")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "without --conf-only first" in result.stderr
    assert list(target.iterdir()) == []


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_a_script_for_each_shell(shell):
    result = run_cli("completion", shell)
    assert result.returncode == 0 and f"_DOCKERNET_COMPLETE={shell}_complete" in result.stdout


def test_completion_for_an_unknown_shell_is_one_line():
    result = run_cli("completion", "tcsh")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1 and "tcsh" in result.stderr


@pytest.mark.parametrize(
    "url, words",
    [
        ("http://[::1", ["Invalid IPv6 URL"]),
        ("tcp://host:notaport", ["'notaport'"]),
        ("tcp://host:99999", ["Port out of range"]),
        ("unix://", ["absolute path"]),
        ("unix://relative.sock", ["absolute path"]),
        ("ssh://x", ["paramiko", "unix:///tmp/docker.sock"]),
        ("npipe:////./pipe/docker_engine", ["Windows"]),
        ("", ["is empty"]),
        ("tcp://", ["Invalid bind address format"]),
        ("foo://x", ["Invalid bind address protocol"]),
        ("tcp://a\nb:2375", ["'tcp://a\\nb:2375'", "control character"]),
    ],
)
@pytest.mark.parametrize("given", ["option", "environment"])
def test_a_malformed_docker_host_is_one_line_and_exit_2(url, words, given):
    if given == "environment" and not url:
        url, words = "tcp://", ["Invalid bind address format"]  # an empty DOCKER_HOST is unset, as for the docker CLI
    args, env = (["--docker-host", url], {}) if given == "option" else ([], {"DOCKER_HOST": url})
    result = run_cli(*args, "netns", "ls", env=env, timeout=30)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dockernet: error: ") and "--docker-host" in lines[0], lines
    for word in words:
        assert word in lines[0]


def test_a_fifo_as_key_file_fails_start_up_at_once_with_one_line(tmp_path):
    import os
    import subprocess

    fifo = tmp_path / "ddns.key"
    os.mkfifo(fifo)
    try:  # no DNS server or Docker engine is needed: the key is read first
        result = run_cli(
            "watch", "--zone", "docker.test", "--key-file", str(fifo), "--state-dir", str(tmp_path / "s"), timeout=20
        )
    except subprocess.TimeoutExpired:
        pytest.fail("watch hung on a FIFO given as --key-file")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"dockernet: error: key file {fifo} is a FIFO, not a regular file: give the file tsig-keygen or "
        "'dockernet dns init' wrote"
    ], lines


def test_the_watch_command_imports_no_other_command_group():
    """The watcher is a daemon: bridge, netns, dns and examples (and what only they use) stay unloaded;
    naming a group on the command line, or asking for the root's help, loads it."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from dockernet.cli.root import cli\n"
        "try:\n"
        "    cli.main(args=sys.argv[1:], prog_name='dockernet', standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        "groups = ('bridge_cmd', 'netns_cmd', 'dns_cmd', 'examples_cmd')\n"
        "print('loaded:' + ','.join(g for g in groups if 'dockernet.cli.' + g in sys.modules), file=sys.stderr)\n"
    )

    def loaded(*argv):
        done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True)
        return done.stderr.strip().splitlines()[-1].removeprefix("loaded:")

    assert loaded("watch", "--help") == ""
    assert loaded("dns", "--help") == "dns_cmd"
    assert loaded("--help") == "bridge_cmd,netns_cmd,dns_cmd,examples_cmd"
