"""dockernet bridge on real netlink in throwaway namespaces, and end to end with a private dockerd."""

import itertools
import json
import os
import subprocess
import sys
from contextlib import contextmanager

import pytest
from pyroute2 import IPRoute

from tests.harness import PREFIX, REPO, PrivateDockerd, clean_env, delete_netns, ip, make_netns, run_cli, wait_for

_count = itertools.count()


@pytest.fixture
def netns(run_dir):
    name = f"{PREFIX}{os.getpid()}-br{next(_count)}"
    make_netns(name)
    yield name
    delete_netns(name)


def link(netns_name, ifname):
    with IPRoute(netns=netns_name, flags=0) as ipr:
        found = ipr.link_lookup(ifname=ifname)
        if not found:
            return None
        info = ipr.get_links(found[0])[0]
        data = info.get("IFLA_LINKINFO").get("IFLA_INFO_DATA")
        addresses = [f"{a.get('IFA_ADDRESS')}/{a['prefixlen']}" for a in ipr.get_addr(family=2, index=found[0])]
        return {
            "index": found[0],
            "addresses": addresses,
            "mtu": info.get("IFLA_MTU"),
            "up": bool(info["flags"] & 1),
            "forward_delay": data.get("IFLA_BR_FORWARD_DELAY"),
            "stp": data.get("IFLA_BR_STP_STATE"),
            "flaps": info.get("IFLA_CARRIER_CHANGES"),
        }


@contextmanager
def engine_in_namespace(run_dir, suffix: str):
    """A dockerd (not started yet) for a namespace of its own, stopped and gone afterwards."""
    base, _ = run_dir
    name = f"{PREFIX}{os.getpid()}-{suffix}"
    dockerd = PrivateDockerd(base / suffix, name, bip=None)
    make_netns(name)
    try:
        yield dockerd, name
    finally:
        dockerd.remove_all() if dockerd.proc else None
        dockerd.stop()
        delete_netns(name)


def setup_args(netns_name, tmp_path, cidr="10.1.0.0/16", *extra, docker_host="unix:///nonexistent/docker.sock"):
    return [
        "--docker-host",
        docker_host,
        "bridge",
        "setup",
        "--netns",
        netns_name,
        "--cidr",
        cidr,
        "--daemon-json",
        str(tmp_path / "daemon.json"),
        "--defaults-file",
        str(tmp_path / "docker"),
        "--interfaces-file",
        str(tmp_path / "docker0"),
        "--unit-dir",
        str(tmp_path / "units"),
        "--docker-pid",
        str(tmp_path / "docker.pid"),
        *extra,
    ]


def test_setup_builds_the_bridge_and_a_second_run_changes_nothing(netns, tmp_path):
    (tmp_path / "daemon.json").write_text('{\n  "log-level": "warn",\n  "bip": "172.30.0.1/16"\n}\n')
    first = run_cli(*setup_args(netns, tmp_path, "10.1.0.0/16", "--mtu", "1400"))
    assert first.returncode == 0, first.stderr
    made = link(netns, "docker0")
    assert made["addresses"] == ["10.1.0.1/16"] and made["mtu"] == 1400 and made["up"]
    assert made["forward_delay"] == 0 and made["stp"] == 0
    settings = json.loads((tmp_path / "daemon.json").read_text())
    assert settings == {"log-level": "warn", "bip": "10.1.0.1/16", "dns": ["10.1.0.1"]}
    stanza = (tmp_path / "docker0").read_text()
    assert "address 10.1.0.1\n" in stanza and "netmask 255.255.0.0\n" in stanza and "mtu 1400\n" in stanza
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    second = run_cli(*setup_args(netns, tmp_path, "10.1.0.0/16", "--mtu", "1400"))
    assert second.returncode == 0 and second.stdout.startswith("nothing to do")
    again = link(netns, "docker0")
    assert again == made  # same index, no carrier change: no flap
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == files


def test_dry_run_prints_steps_and_diffs_and_changes_nothing(netns, tmp_path):
    result = run_cli(*setup_args(netns, tmp_path, "10.1.0.0/16", "--dry-run"))
    assert result.returncode == 0
    assert (
        "ip link add docker0 type bridge" in result.stdout and "+++ " + str(tmp_path / "daemon.json") in result.stdout
    )
    assert link(netns, "docker0") is None and list(tmp_path.iterdir()) == []
    # the installed dockerd is asked where it can be (Docker 23 and later), and the output says which it was
    assert (
        f"# dockerd --validate accepts the planned {tmp_path / 'daemon.json'}" in result.stdout
        or "cannot validate a configuration (dockerd --validate came with Docker 23)" in result.stdout
    )


def test_a_different_subnet_rebuilds_the_bridge(netns, tmp_path):
    assert run_cli(*setup_args(netns, tmp_path, "10.1.0.0/16")).returncode == 0
    result = run_cli(*setup_args(netns, tmp_path, "10.5.0.1/24"))
    assert result.returncode == 0 and "ip link del docker0" in result.stdout
    assert link(netns, "docker0")["addresses"] == ["10.5.0.1/24"]


def test_overlap_with_another_interface_is_refused_unless_forced(netns, tmp_path):
    ip("-n", netns, "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p")
    ip("-n", netns, "addr", "add", "10.1.2.1/24", "dev", "eth1")
    refused = run_cli(*setup_args(netns, tmp_path))
    assert refused.returncode == 2 and "10.1.0.0/16 overlaps 10.1.2.0/24 on eth1" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert link(netns, "docker0") is None and list(tmp_path.iterdir()) == []
    forced = run_cli(*setup_args(netns, tmp_path, "10.1.0.0/16", "--force"))
    assert forced.returncode == 0 and "warning" in forced.stderr
    assert link(netns, "docker0")["addresses"] == ["10.1.0.1/16"]


def test_a_bridge_with_ports_is_not_rebuilt_unless_forced(netns, tmp_path):
    assert run_cli(*setup_args(netns, tmp_path, "10.1.0.0/16")).returncode == 0
    ip("-n", netns, "link", "add", "vethA", "type", "veth", "peer", "name", "vethB")
    ip("-n", netns, "link", "set", "vethA", "master", "docker0")
    refused = run_cli(*setup_args(netns, tmp_path, "10.9.0.0/16"))
    assert refused.returncode == 1 and "has ports attached (vethA)" in refused.stderr
    assert link(netns, "docker0")["addresses"] == ["10.1.0.1/16"]


def test_malformed_daemon_json_is_left_byte_identical(netns, tmp_path):
    broken = b'{\n  "log-level": "warn",\n  "bridge": \n'
    (tmp_path / "daemon.json").write_bytes(broken)
    result = run_cli(*setup_args(netns, tmp_path))
    assert result.returncode == 1 and "is not valid JSON (line 4" in result.stderr
    assert (tmp_path / "daemon.json").read_bytes() == broken
    assert link(netns, "docker0") is None and not (tmp_path / "docker0").exists()


def test_docker_opts_mode_and_the_unit_that_ignores_it(netns, tmp_path):
    (tmp_path / "docker").write_text('# Docker defaults\nDOCKER_OPTS="-b=br0 -dns 8.8.8.8 --log-level=info"\n')
    units = tmp_path / "units"
    units.mkdir()
    (units / "docker.service").write_text("[Service]\nExecStart=/usr/bin/dockerd -H fd://\n")
    result = run_cli(*setup_args(netns, tmp_path, "10.1.0.0/16", "--config", "docker-opts"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "docker").read_text() == (  # the resolver the user set stays
        '# Docker defaults\nDOCKER_OPTS="--log-level=info --bip=10.1.0.1/16 --dns=8.8.8.8"\n'
    )
    assert "# containers keep their resolvers from DOCKER_OPTS: 8.8.8.8 (--dns replaces them)" in result.stdout
    assert "does not read DOCKER_OPTS" in result.stderr
    assert not (tmp_path / "daemon.json").exists()


def test_auto_keeps_the_seeds_docker_opts_and_daemon_json_mode_empties_them(netns, tmp_path):
    seed = '# the seed host\nDOCKER_OPTS="-b=docker0 -dns 10.1.0.1"\n'  # read: no unit says otherwise
    (tmp_path / "docker").write_text(seed)
    result = run_cli(*setup_args(netns, tmp_path))
    assert result.returncode == 0, result.stderr
    assert "# Docker's bridge settings go to DOCKER_OPTS, which Docker's init script reads" in result.stdout
    assert (tmp_path / "docker").read_text() == '# the seed host\nDOCKER_OPTS="--bip=10.1.0.1/16 --dns=10.1.0.1"\n'
    assert not (tmp_path / "daemon.json").exists()

    (tmp_path / "docker").write_text(seed)
    moved = run_cli(*setup_args(netns, tmp_path, "10.1.0.0/16", "--config", "daemon-json"))
    assert moved.returncode == 0, moved.stderr
    assert (tmp_path / "docker").read_text() == '# the seed host\nDOCKER_OPTS=""\n'
    assert json.loads((tmp_path / "daemon.json").read_text()) == {"bip": "10.1.0.1/16", "dns": ["10.1.0.1"]}


def test_flags_on_a_drop_ins_execstart_are_refused_with_nothing_changed(netns, tmp_path):
    dropin = tmp_path / "units" / "docker.service.d" / "bridge.conf"
    dropin.parent.mkdir(parents=True)
    dropin.write_text("[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd -H fd:// --bip=172.17.0.1/16\n")
    result = run_cli(*setup_args(netns, tmp_path))
    assert result.returncode == 1 and f"the ExecStart line of {dropin}" in result.stderr and "bip" in result.stderr
    assert link(netns, "docker0") is None and not (tmp_path / "daemon.json").exists()


def test_teardown_removes_the_bridge_and_the_settings(netns, tmp_path):
    (tmp_path / "daemon.json").write_text('{\n  "log-level": "warn"\n}\n')
    assert run_cli(*setup_args(netns, tmp_path)).returncode == 0
    args = setup_args(netns, tmp_path)
    args[args.index("setup")] = "teardown"
    del args[args.index("--cidr") : args.index("--cidr") + 2]
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    assert link(netns, "docker0") is None and not (tmp_path / "docker0").exists()
    assert json.loads((tmp_path / "daemon.json").read_text()) == {"log-level": "warn"}
    assert run_cli(*args).stdout.startswith("nothing to do")


def test_end_to_end_dockerd_uses_the_bridge_dockernet_built(run_dir, tmp_path):
    with engine_in_namespace(run_dir, "e2e") as (dockerd, name):
        (tmp_path / "daemon.json").write_text('{\n  "log-level": "warn"\n}\n')
        args = setup_args(name, tmp_path, "10.7.0.0/16", docker_host=dockerd.url)
        args[args.index("--docker-pid") + 1] = str(dockerd.pidfile)
        assert run_cli(*args).returncode == 0  # dockerd is stopped
        dockerd.settings = json.loads((tmp_path / "daemon.json").read_text())  # what it reads, as from /etc/docker
        dockerd.start()
        dockerd.import_busybox()
        container = dockerd.run(name="e2e-web")
        address = dockerd.address_of(container)
        assert address.startswith("10.7.") and address != "10.7.0.1"
        # the container's veth is a port of the bridge dockernet made, and show finds its container
        shown = run_cli(
            "--docker-host",
            dockerd.url,
            "bridge",
            "show",
            "--netns",
            name,
            "--json",
            "--daemon-json",
            str(tmp_path / "daemon.json"),
            "--defaults-file",
            str(tmp_path / "docker"),
        )
        summary = json.loads(shown.stdout)
        assert summary["addresses"] == ["10.7.0.1/16"]
        assert [port.get("container") for port in summary["ports"]] == ["e2e-web"]
        assert "daemon.json points Docker at docker0" in summary["config"]
        assert summary["engine"] == ["Docker's bridge network uses docker0 with 10.7.0.0/16, gateway 10.7.0.1"]
        before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
        again = run_cli(*args)  # the same arguments while dockerd runs: nothing to change, nothing refused
        assert again.returncode == 0 and again.stdout.startswith("nothing to do")
        changed = [a if a != "10.7.0.0/16" else "10.8.0.0/16" for a in args]
        busy = run_cli(*changed)
        assert busy.returncode == 1 and "has ports attached" in busy.stderr
        running = run_cli(*changed, "--force")  # --force lifts the ports refusal, never the running-Docker one
        assert running.returncode == 1 and "Docker is running" in running.stderr
        assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
        assert link(name, "docker0")["addresses"] == ["10.7.0.1/16"]
        assert wait_for(lambda: container.reload() or container.status == "running")


def test_a_failed_write_puts_back_the_link_and_every_file_already_written(netns, tmp_path):
    (tmp_path / "daemon.json").write_text('{\n  "log-level": "warn"\n}\n')
    readonly = tmp_path / "ro"
    readonly.mkdir()
    first = run_cli(*setup_args(netns, tmp_path, "10.5.0.0/16", "--mtu", "1400"))
    assert first.returncode == 0, first.stderr
    made = link(netns, "docker0")
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}

    # the ifupdown stanza is written last, into a directory mounted read-only in the command's own mount namespace
    args = setup_args(netns, tmp_path, "10.1.0.0/16")
    args[args.index("--interfaces-file") + 1] = str(readonly / "docker0")
    result = subprocess.run(
        [
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"',
            "sh",
            str(readonly),
            sys.executable,
            "-m",
            "dockernet",
            *args,
        ],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=REPO,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    error = [
        line
        for line in result.stderr.strip().splitlines()  # the plan's warnings come first
        if not line.startswith("dockernet: warning: ")
    ]
    assert len(error) == 1 and "Read-only file system" in error[0], result.stderr
    assert "nothing is changed (the link docker0, " in error[0] and str(tmp_path / "daemon.json") in error[0]
    after = link(netns, "docker0")
    assert (after["addresses"], after["mtu"], after["up"]) == (made["addresses"], made["mtu"], made["up"])
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == files
    assert list(readonly.iterdir()) == []


def test_cidr6_gives_the_bridge_its_address_and_a_container_a_global_one(run_dir, tmp_path):
    with engine_in_namespace(run_dir, "v6") as (dockerd, name):
        args = setup_args(name, tmp_path, "10.9.0.0/24", "--cidr6", "fd00:1::/64", docker_host=dockerd.url)
        result = run_cli(*args)
        assert result.returncode == 0, result.stderr
        addresses6 = ip("-n", name, "-6", "-o", "addr", "show", "dev", "docker0", "scope", "global")
        assert "fd00:1::1/64" in addresses6
        settings = json.loads((tmp_path / "daemon.json").read_text())
        assert settings["ipv6"] is True and settings["fixed-cidr-v6"] == "fd00:1::/64"
        stanza = (tmp_path / "docker0").read_text()
        assert "iface docker0 inet6 static\n    address fd00:1::1\n    netmask 64\n" in stanza
        assert run_cli(*args).stdout.startswith("nothing to do")  # the v6 address counts as agreeing

        dockerd.settings = settings
        dockerd.start()
        dockerd.import_busybox()
        container = dockerd.run()
        container.reload()
        v6 = container.attrs["NetworkSettings"]["GlobalIPv6Address"]
        assert v6.startswith("fd00:1::") and v6 != "fd00:1::1", container.attrs["NetworkSettings"]
        dockerd.remove_all()
        dockerd.stop()

        down = run_cli(
            "--docker-host",
            dockerd.url,
            "bridge",
            "teardown",
            "--netns",
            name,
            *args[args.index("--daemon-json") : args.index("--cidr6")],
        )
        assert down.returncode == 0, down.stderr
        assert json.loads((tmp_path / "daemon.json").read_text()) == {}


def test_a_link_that_vanishes_mid_apply_is_one_error_and_the_files_stay(netns, tmp_path):
    """Between the plan and its first step another tool deletes the bridge: real netlink, dockernet's own apply."""
    from dockernet.bridge import netlink, observe
    from dockernet.errors import RolledBack
    from dockernet.host.bridgeapply import execute
    from dockernet.host.bridgeargs import make_spec
    from dockernet.host.bridgesetup import FilePaths, plan_setup

    assert run_cli(*setup_args(netns, tmp_path, "10.5.0.0/16")).returncode == 0
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    paths = FilePaths(
        "auto", tmp_path / "daemon.json", tmp_path / "docker", tmp_path / "docker0", (tmp_path / "units",)
    )
    with netlink(netns) as ipr:
        before = observe(ipr, "docker0")
        plan = plan_setup(make_spec("docker0", "10.1.0.0/16"), "10.1.0.0/16", paths, before)
        ip("-n", netns, "link", "del", "docker0")  # gone before the plan's "ip link del docker0"
        with pytest.raises(
            RolledBack, match="docker0 disappeared before dockernet could ip link del docker0"
        ) as failed:
            execute(plan, ipr, before.bridge, "docker0")
    assert "\n" not in str(failed.value) and "nothing is changed" in str(failed.value)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == files
    assert link(netns, "docker0") is None  # no step of dockernet's changed it: whoever deleted it decides


# --- what bridge setup writes into files a shell sources ---------------------------------------

#: one hand-written DOCKER_OPTS whose words are literal shell syntax (single quotes: sourcing runs nothing), kept
HAND_WRITTEN = (
    "# Docker defaults, by hand\n"
    'DOCKER_OPTS=\'--label=a=$(touch {marker}) --label=b=`touch {marker}` --label=c="; touch {marker}; "x '
    "--label=d=$HOME;\\ -b=docker0 -dns 8.8.8.8'  # keep this comment\n"
    "export DOCKER_OPTS\n"
)


def sourced(path, shell: str, cwd) -> list[str]:
    """The words dockerd gets from DOCKER_OPTS: the file sourced by ``shell``, the value split, no globbing."""
    result = subprocess.run(
        [shell, "-c", 'set -f; . "$1"; for word in $DOCKER_OPTS; do printf "%s\\0" "$word"; done', shell, str(path)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split("\0")[:-1]


def test_setup_writes_docker_opts_a_shell_sources_to_the_words_meant(netns, tmp_path):
    """The real setup rewrites a hand-written line full of shell syntax; sh and bash source it and run nothing."""
    marker = tmp_path / "marker"
    (tmp_path / "docker").write_text(HAND_WRITTEN.format(marker=marker))
    kept = [
        "--label=a=$(touch",
        f"{marker})",
        "--label=b=`touch",
        f"{marker}`",
        '--label=c=";',
        "touch",
        f"{marker};",
        '"x',
        "--label=d=$HOME;\\",
    ]
    assert sourced(tmp_path / "docker", "sh", tmp_path) == kept + ["-b=docker0", "-dns", "8.8.8.8"]
    result = run_cli(
        *setup_args(netns, tmp_path, "10.1.0.0/16", "--config", "docker-opts", "--dns-search", "docker.test.")
    )
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "docker").read_text()
    assert text.startswith("# Docker defaults, by hand\nDOCKER_OPTS=") and text.endswith(
        "  # keep this comment\nexport DOCKER_OPTS\n"
    )
    for shell in ("sh", "bash"):
        assert sourced(tmp_path / "docker", shell, tmp_path) == kept + [
            "--bip=10.1.0.1/16",
            "--dns=8.8.8.8",
            "--dns-search=docker.test",
        ]
    assert not marker.exists()
    stanza = (tmp_path / "docker0").read_text().splitlines()
    assert stanza[0] == "# written by dockernet bridge setup --cidr 10.1.0.0/16"
    assert all(
        line.split()[0]
        in (
            "auto",
            "iface",
            "bridge_ports",
            "bridge_fd",
            "bridge_stp",
            "address",
            "netmask",
            "dns-nameservers",
            "dns-search",
        )
        for line in stanza[1:]
    )
    assert run_cli(
        *setup_args(netns, tmp_path, "10.1.0.0/16", "--config", "docker-opts", "--dns-search", "docker.test")
    ).stdout.startswith("nothing to do")


@pytest.mark.parametrize(
    "option, value",
    [
        ("--dns-search", "$(touch {marker})"),
        ("--dns-search", "`touch {marker}`"),
        ("--dns-search", 'a";touch {marker};"'),
        ("--dns-search", "a';touch {marker};'"),
        ("--dns-search", "docker.test\npre-up touch {marker}"),
        ("--dns-search", "a\\"),
        ("--dns-search", "$HOME"),
        ("--dns", "fe80::1%$(touch {marker})"),
        ("--dns", "fe80::1%`touch {marker}`"),
        ("--dns", "10.1.0.53;touch {marker}"),
        ("--name", "$(touch)"),
        ("--name", "br0\npre-up"),
        ("--mtu", "1400\npre-up touch {marker}"),
        ("--cidr6", "fd00:1::%$(touch)/64"),
    ],
)
@pytest.mark.parametrize("config", ["docker-opts", "daemon-json"])
def test_hostile_values_are_refused_before_anything_changes(netns, tmp_path, option, value, config):
    marker = tmp_path / "marker"  # named without a '/' below: ipaddress refuses a scope with one; sourced in tmp_path
    (tmp_path / "docker").write_text('DOCKER_OPTS="-b=docker0"\n')
    result = run_cli(
        *setup_args(netns, tmp_path, "10.1.0.0/16", "--config", config, option, value.format(marker=marker.name))
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("dockernet: error: ")
    assert [p.name for p in tmp_path.iterdir()] == ["docker"] and link(netns, "docker0") is None
    assert (tmp_path / "docker").read_text() == 'DOCKER_OPTS="-b=docker0"\n'
    for shell in ("sh", "bash"):
        sourced(tmp_path / "docker", shell, tmp_path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "text, what",
    [
        ('DOCKER_OPTS="-b=docker0 --dns 8.8.8.8\n', 'line 1: DOCKER_OPTS has an unclosed " quote'),
        ("# defaults\nDOCKER_OPTS='-b=docker0\n", "line 2: DOCKER_OPTS has an unclosed ' quote"),
        ('DOCKER_OPTS="--dns $(cat /etc/resolver)"\n', "line 1: DOCKER_OPTS uses '$(cat /etc/r', a shell expansion"),
    ],
)
def test_an_unreadable_docker_opts_is_one_line_for_setup_teardown_and_show(netns, tmp_path, text, what):
    (tmp_path / "docker").write_text(text)
    args = setup_args(netns, tmp_path, "10.1.0.0/16")
    down = [a for a in args if a not in ("--cidr", "10.1.0.0/16")]
    down[down.index("setup")] = "teardown"
    show = [
        "--docker-host",
        "unix:///nonexistent/docker.sock",
        "bridge",
        "show",
        "--netns",
        netns,
        "--daemon-json",
        str(tmp_path / "daemon.json"),
        "--defaults-file",
        str(tmp_path / "docker"),
    ]
    for argv in (args, [*args, "--config", "daemon-json"], down, show):
        result = run_cli(*argv)
        assert result.returncode == 1, result.stdout + result.stderr
        lines = result.stderr.strip().splitlines()
        assert lines == [lines[0]] and lines[0].startswith(f"dockernet: error: {tmp_path / 'docker'}, {what}"), lines
        assert "Traceback" not in result.stderr
        assert [p.name for p in tmp_path.iterdir()] == ["docker"] and (tmp_path / "docker").read_text() == text
        assert link(netns, "docker0") is None


def test_the_gateway_as_resolver_is_a_warning_and_dns_silences_it(netns, tmp_path):
    """Nothing is sent to the gateway: the warning says that nothing was checked, and how to fix it."""
    default = run_cli(*setup_args(netns, tmp_path, "10.1.0.0/16", "--dry-run"))
    assert default.returncode == 0, default.stderr
    assert default.stderr.splitlines() == [
        "dockernet: warning: containers get 10.1.0.1 (the gateway) as their resolver and nothing checks that DNS "
        "answers there: give --dns ADDR (a resolver they can reach), or make named listen on 10.1.0.1 "
        "(listen-on { 10.1.0.1; };)"
    ]
    given = run_cli(*setup_args(netns, tmp_path, "10.1.0.0/16", "--dns", "10.1.0.1"))
    assert given.returncode == 0 and given.stderr == ""
    assert json.loads((tmp_path / "daemon.json").read_text())["dns"] == ["10.1.0.1"]
    (tmp_path / "daemon.json").write_text('{"dns": ["192.0.2.53"]}\n')
    kept = run_cli(*setup_args(netns, tmp_path, "10.1.0.0/16"))
    assert kept.returncode == 0 and kept.stderr == ""
    assert "# containers keep their resolvers from daemon.json: 192.0.2.53 (--dns replaces them)" in kept.stdout
    assert json.loads((tmp_path / "daemon.json").read_text())["dns"] == ["192.0.2.53"]
