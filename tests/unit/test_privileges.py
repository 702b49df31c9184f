"""Which of watch's options a process's privileges rule out: the capability table and the path checks, pure."""

import os

import pytest

from dockernet.auth import Unsigned
from dockernet.errors import NotPermitted, UsageError
from dockernet.host.privileges import (
    SEND_FROM_CONTAINER,
    HostFiles,
    User,
    WatchPaths,
    access_problems,
    capabilities_in,
    effective_mask,
    missing_capabilities,
    option_needs,
    user_of,
)
from tests.support import FakeFiles

DOCKERNET = User(998, "dockernet")
RW = os.R_OK | os.W_OK | os.X_OK | os.F_OK


@pytest.mark.parametrize(
    ("cap_eff", "names"),
    [
        ("000001ffffffffff", {"CAP_SYS_ADMIN", "CAP_SYS_PTRACE"}),  # root
        ("0000000000000000", set()),  # an ordinary user
        ("0000000000280000", {"CAP_SYS_ADMIN", "CAP_SYS_PTRACE"}),  # the drop-in's two: bits 19 and 21
        ("0000000000200000", {"CAP_SYS_ADMIN"}),
        ("00000000a80425fb", set()),  # Docker's default set for a container's root
    ],
)
def test_the_effective_set_is_read_from_proc_status(cap_eff, names):
    status = f"Name:\tdockernet\nCapInh:\t0000000000000000\nCapPrm:\t{cap_eff}\nCapEff:\t{cap_eff}\n"
    assert capabilities_in(effective_mask(status)) == names


def test_a_status_without_capeff_counts_as_no_capability():
    assert effective_mask("Name:\tx\n") == 0


@pytest.mark.parametrize(
    ("send_from", "have", "missing"),
    [
        ("host", set(), []),
        ("container", {"CAP_SYS_ADMIN", "CAP_SYS_PTRACE"}, []),
        ("container", {"CAP_SYS_ADMIN"}, ["CAP_SYS_PTRACE"]),
        ("container", {"CAP_SYS_PTRACE"}, ["CAP_SYS_ADMIN"]),
        ("container", set(), ["CAP_SYS_ADMIN", "CAP_SYS_PTRACE"]),
    ],
)
def test_send_from_container_without_both_capabilities_is_named_with_what_is_missing(send_from, have, missing):
    problems = missing_capabilities(option_needs(send_from), frozenset(have), DOCKERNET)
    if not missing:
        assert problems == []
        return
    (problem,) = problems
    assert problem.startswith("--send-from container needs CAP_SYS_ADMIN and CAP_SYS_PTRACE")
    assert f"user dockernet (uid 998) runs without {' and '.join(missing)}:" in problem


def test_the_drop_in_grants_exactly_what_send_from_container_needs():
    from tests.harness import REPO

    drop_in = (REPO / "examples/systemd/dockernet-watch.service.d/send-from-container.conf").read_text()
    lines = dict(line.split("=", 1) for line in drop_in.splitlines() if "=" in line and not line.startswith("#"))
    assert set(lines["AmbientCapabilities"].split()) == set(SEND_FROM_CONTAINER.capabilities)
    assert set(lines["CapabilityBoundingSet"].split()) == set(SEND_FROM_CONTAINER.capabilities)


PATHS = WatchPaths(
    key_file="/etc/dockernet/ddns.key",
    state_dir="/var/lib/dockernet",
    pidfile="/run/dockernet/watch.pid",
    docker_socket="/var/run/docker.sock",
)
#: what systemd's unit gives the user: its own key, state and runtime directories, the socket through its group
GRANTED = {
    "/etc/dockernet/ddns.key": os.R_OK,
    "/var/lib/dockernet": RW,
    "/run/dockernet": RW,
    "/var/run/docker.sock": os.R_OK | os.W_OK,
}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, None),
        ({"/etc/dockernet/ddns.key": 0}, "key file /etc/dockernet/ddns.key is not readable by user dockernet"),
        ({"/var/lib/dockernet": os.R_OK | os.X_OK}, "state directory /var/lib/dockernet is not writable by user"),
        ({"/run/dockernet": os.R_OK | os.X_OK}, "pid file /run/dockernet/watch.pid cannot be written by user"),
        ({"/var/run/docker.sock": os.R_OK}, "Docker's socket /var/run/docker.sock may not be opened by user"),
    ],
)
def test_each_path_this_user_may_not_use_is_one_sentence_naming_path_and_user(change, expected):
    problems = access_problems(PATHS, DOCKERNET, FakeFiles({**GRANTED, **change}))
    assert problems == [] if expected is None else len(problems) == 1 and problems[0].startswith(expected)


def test_the_socket_problem_names_its_group_and_the_key_problem_the_install_line():
    files = FakeFiles({**GRANTED, "/var/run/docker.sock": 0, "/etc/dockernet/ddns.key": 0}, group="docker")
    key, sock = access_problems(PATHS, DOCKERNET, files)
    assert "install -o dockernet -m 0400" in key
    assert "group 'docker'" in sock and "SupplementaryGroups=docker" in sock


def test_a_missing_state_dir_is_judged_by_the_parent_it_would_be_made_in():
    files = FakeFiles({**GRANTED, "/var/lib": os.R_OK | os.X_OK})
    del files.allowed["/var/lib/dockernet"]
    (problem,) = access_problems(PATHS, DOCKERNET, files)
    assert "not writable" in problem and "(it would be made in /var/lib)" in problem
    files.allowed["/var/lib"] = RW
    assert access_problems(PATHS, DOCKERNET, files) == []


def test_missing_paths_and_options_not_given_are_not_this_checks_to_judge():
    """A missing key, socket or pid directory has its own message elsewhere; --no-key and --once leave theirs out."""
    assert access_problems(PATHS, DOCKERNET, FakeFiles({"/": 0, "/var/lib/dockernet": RW})) == []
    unused = WatchPaths(key_file=None, state_dir="/var/lib/dockernet", pidfile=None, docker_socket=None)
    assert access_problems(unused, DOCKERNET, FakeFiles({"/var/lib/dockernet": RW})) == []


def test_a_journal_another_user_rewrote_is_refused_with_the_chown_that_gives_it_back():
    journal = "/var/lib/dockernet/records-h1.journal"
    paths = WatchPaths(**{**vars(PATHS), "journal": journal})
    assert access_problems(paths, DOCKERNET, FakeFiles({**GRANTED, journal: RW})) == []
    assert access_problems(paths, DOCKERNET, FakeFiles(GRANTED)) == []  # not made yet: the watcher makes it
    (problem,) = access_problems(paths, DOCKERNET, FakeFiles({**GRANTED, journal: os.F_OK}))
    assert problem.startswith(f"journal {journal} is not readable and writable by user dockernet")
    assert f"chown dockernet {journal}" in problem


def test_a_read_only_state_dir_is_no_privilege_matter_but_a_read_only_pid_dir_is():
    """The journal runs on behind on a read-only file system (journal.py); a pid file cannot be written at all."""
    read_only = {**GRANTED, "/var/lib/dockernet": os.R_OK | os.X_OK, "/run/dockernet": os.R_OK | os.X_OK}
    files = FakeFiles(read_only, read_only=("/var/lib/dockernet", "/run/dockernet"))
    (problem,) = access_problems(PATHS, DOCKERNET, files)
    assert problem.startswith("pid file /run/dockernet/watch.pid cannot be written")


def test_a_user_without_an_account_is_named_by_its_id():
    assert str(User(54321)) == "user id 54321" and User(54321).owner == "54321"
    assert str(user_of(0)) == "user root (uid 0)"


def test_host_files_answer_with_this_process_s_access(tmp_path):
    key = tmp_path / "key"
    key.write_text("x")
    files = HostFiles()
    assert files.may(str(key), os.R_OK) is True
    assert files.may(str(tmp_path / "absent"), os.R_OK) is None
    assert files.group_of(str(key))


def test_refusal_is_a_usage_error_exit_2():
    assert issubclass(NotPermitted, UsageError) and NotPermitted.exit_code == 2


def _settings(tmp_path, **given):
    import dns.name

    from dockernet.runtime import DnsSettings

    return DnsSettings(zone=dns.name.from_text("docker.test"), state_dir=str(tmp_path / "state"), **given)


def test_check_watch_refuses_send_from_container_in_one_line_when_capabilities_are_missing(tmp_path, monkeypatch):
    from dockernet.engine.address import EngineAddress
    from dockernet.host import privileges

    engine = EngineAddress(f"unix://{tmp_path}/docker.sock")
    monkeypatch.setattr(privileges, "effective_mask", lambda status: 0x280000)  # the drop-in's two
    privileges.check_watch(_settings(tmp_path, auth=Unsigned()), engine, send_from="container", pidfile=None)
    monkeypatch.setattr(privileges, "effective_mask", lambda status: 0)
    privileges.check_watch(_settings(tmp_path, auth=Unsigned()), engine, send_from="host", pidfile=None)
    with pytest.raises(NotPermitted) as refused:
        privileges.check_watch(_settings(tmp_path, auth=Unsigned()), engine, send_from="container", pidfile=None)
    assert "--send-from container needs" in str(refused.value) and "\n" not in str(refused.value)
