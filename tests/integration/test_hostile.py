"""Hostile containers, lost answers and silent failures, on the real dockerd and named.

Each test reproduces one defect found by trying dockernet as an attacker or
an unlucky operator would, and proves that only the guilty container (or
nobody) pays for it. Every wait is for the state being checked, bounded.
"""

import base64
import os
import re
import secrets
import signal
import subprocess

import pytest

from tests.harness import fill, free_port, named_with_update_rule, run_cli, tmpfs, wait_for
from tests.support import http_get

#: every line of the watcher's log starts like this (Ruby Logger); a forged line would not have to
RUBY_LINE = re.compile(r"[DIWEF], \[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6} #\d+\] +[A-Z]+ -- : ")
REFUSED_NAME = "refused-name"


def assert_one_record_per_line(text):
    for line in text.splitlines():
        assert RUBY_LINE.match(line), f"not a log line of the watcher's: {line!r}"


@pytest.fixture
def named_policy(run_dir):
    """A named whose update-policy refuses one name to the key and grants it every other name of the zone."""
    policy = f"update-policy {{ deny ddns-key name {REFUSED_NAME}.docker.test. ANY; grant ddns-key zonesub ANY; }};"
    server = named_with_update_rule(run_dir[0], "named-policy", policy)
    yield server
    server.stop()


@pytest.fixture
def tiny_tmpfs(run_dir, label):
    """A 64 KiB tmpfs, filled up: every write into it fails with ENOSPC. Unmounted afterwards."""
    with tmpfs(run_dir[0] / f"full-{label}", "size=64k") as path:
        fill(path)
        yield path


@pytest.mark.parametrize("form", ["hostname", "label"])
def test_a_poison_name_hurts_only_its_own_container(dockerd, named, containers, watchers, label, form):
    watcher = watchers().start()
    poison_text = "0\n.docker.test"  # "$" matched before the newline; named refuses the name (check-names)
    before = [containers(hostname=f"{label}-b{i}") for i in range(10)]
    poison = (
        containers(hostname=poison_text)
        if form == "hostname"
        else containers(hostname=f"{label}-p", labels={"dockernet.name": poison_text})
    )
    after = [containers(hostname=f"{label}-a{i}") for i in range(10)]
    names = [f"{label}-b{i}" for i in range(10)] + [f"{label}-a{i}" for i in range(10)]
    everyone = before + after
    assert wait_for(
        lambda: all(named.query(n) == {dockerd.address_of(c)} for n, c in zip(names, everyone, strict=True)), 15
    ), watcher.log_text()
    for container in everyone:
        container.remove(force=True)
    assert wait_for(lambda: not any(named.query(n) for n in names), 15), watcher.log_text()
    poison.stop(timeout=0)  # more events of the poison container: still said once
    log = watcher.log_text()
    said = [line for line in log.splitlines() if f"Skipping container ({poison.id[:12]})" in line]
    assert len(said) == 1 and "'0\\n.docker.test'" in said[0], said
    assert "pending" not in log and "REFUSED" not in log
    assert_one_record_per_line(log)
    assert watcher.terminate() == 0


def test_a_name_the_server_refuses_is_set_aside_alone_and_reported_once(
    dockerd, named_policy, containers, watchers, label
):
    named = named_policy
    port = free_port()
    watcher = watchers(server=named, extra=("--settle-time", "1", "--metrics-listen", f"127.0.0.1:{port}")).start()
    refused = containers(hostname=REFUSED_NAME)
    others = [containers(hostname=f"{label}-{i}") for i in range(20)]
    assert wait_for(
        lambda: all(named.query(f"{label}-{i}") == {dockerd.address_of(c)} for i, c in enumerate(others)), 15
    ), watcher.log_text()
    assert wait_for(lambda: "is set aside" in watcher.log_text(), 10), watcher.log_text()
    assert named.query(REFUSED_NAME) == set()
    status, body = http_get(port, "/healthz")
    assert status == 200 and body.startswith("degraded: 1 name(s) rejected"), body
    assert "dockernet_rejected_names 1.0" in http_get(port, "/metrics")[1]
    for container in others:
        container.remove(force=True)
    assert wait_for(lambda: not any(named.query(f"{label}-{i}") for i in range(20)), 15), watcher.log_text()
    refused.remove(force=True)  # the only container that wanted it is gone: nothing is set aside any more
    assert wait_for(lambda: http_get(port, "/healthz") == (200, "ok\n"), 10)
    assert "dockernet_rejected_names 0.0" in http_get(port, "/metrics")[1]
    log = watcher.log_text()
    set_aside = [line for line in log.splitlines() if "is set aside" in line]
    assert len(set_aside) == 1
    assert f"{REFUSED_NAME}.docker.test. was rejected" in set_aside[0] and "(REFUSED)" in set_aside[0]
    assert f"({refused.id[:12]})" in set_aside[0] and "update-policy" in set_aside[0]
    assert "allow-update" not in log and "pending" not in log  # not blamed on the key, not retried with backoff
    assert watcher.terminate() == 0


def test_a_journal_entry_outside_the_zone_is_not_retried_ahead_of_everything(
    dockerd, named_no_axfr, containers, watchers, label
):
    named = named_no_axfr
    watcher = watchers(server=named)
    state = watcher.workdir / f"state-{watcher.owner}"
    state.mkdir(parents=True, exist_ok=True)
    # left by this host's watcher when it served another zone (--zone old-zone.test)
    (state / f"records-{watcher.owner}.journal").write_text(f"+ {label}.old-zone.test. 0123456789ab\n")
    watcher.start()
    fresh = [containers(hostname=f"{label}-{i}") for i in range(5)]
    assert wait_for(
        lambda: all(named.query(f"{label}-{i}") == {dockerd.address_of(c)} for i, c in enumerate(fresh)), 15
    ), watcher.log_text()
    for container in fresh:
        container.remove(force=True)
    assert wait_for(lambda: not any(named.query(f"{label}-{i}") for i in range(5)), 15), watcher.log_text()
    log = watcher.log_text()
    assert log.count(f"The journal names {label}.old-zone.test.") == 1
    # no update was refused (the transfer refusal of this no-AXFR server is expected and says so)
    assert "(NOTZONE)" not in log and "(REFUSED)" not in log and "pending" not in log
    assert watcher.terminate() == 0


def test_updates_applied_after_their_answers_were_lost_are_found_and_removed(
    dockerd, named, containers, watchers, label
):
    watcher = watchers(extra=("--settle-time", "1")).start()
    first = [containers(hostname=f"{label}-o{i}") for i in range(6)]
    assert wait_for(lambda: all(named.query(f"{label}-o{i}") for i in range(6)), 15)
    os.kill(named.proc.pid, signal.SIGSTOP)  # named takes the datagrams and answers nothing
    try:
        second = [containers(hostname=f"{label}-n{i}") for i in range(6)]
        assert wait_for(lambda: "no answer from" in watcher.log_text(), 20), watcher.log_text()
        gone = first[:3] + second[:3]
        for container in gone:
            container.remove(force=True)
        # the watcher has taken in every removal before named wakes up and applies what it queued
        assert wait_for(lambda: all(f"Event Fired ({c.id[:12]}): destroy" in watcher.log_text() for c in gone), 30), (
            watcher.log_text()
        )
    finally:
        os.kill(named.proc.pid, signal.SIGCONT)
    staying = {f"{label}-o{i}": first[i] for i in range(3, 6)} | {f"{label}-n{i}": second[i] for i in range(3, 6)}
    leaving = [f"{label}-o{i}" for i in range(3)] + [f"{label}-n{i}" for i in range(3)]

    def zone_equals_running():
        return all(named.query(n) == {dockerd.address_of(c)} for n, c in staying.items()) and not any(
            named.query(n) or named.query(n, "TXT") for n in leaving
        )

    assert wait_for(zone_equals_running, 60), watcher.log_text()
    assert watcher.terminate() == 0


def test_a_journal_on_a_full_filesystem_is_loud_and_publishing_goes_on(
    dockerd, named, containers, watchers, label, tiny_tmpfs
):
    port = free_port()
    watcher = watchers(
        extra=("--settle-time", "1", "--state-dir", str(tiny_tmpfs), "--metrics-listen", f"127.0.0.1:{port}")
    ).start()
    published = [containers(hostname=f"{label}-{i}") for i in range(3)]
    assert wait_for(
        lambda: all(named.query(f"{label}-{i}") == {dockerd.address_of(c)} for i, c in enumerate(published)), 15
    ), watcher.log_text()
    assert wait_for(lambda: "Cannot write the journal" in watcher.log_text(), 10)
    status, body = http_get(port, "/healthz")
    assert status == 200 and "journal not written (No space left on device)" in body, body
    metrics = http_get(port, "/metrics")[1]
    failures = re.search(r"^dockernet_journal_write_failures_total (\S+)$", metrics, re.M)
    assert failures and float(failures.group(1)) >= 3
    published[0].remove(force=True)
    assert wait_for(lambda: named.query(f"{label}-0") == set(), 15)
    assert watcher.log_text().count("Cannot write the journal") == 1  # once per state change, not per write
    assert watcher.proc.poll() is None and watcher.terminate() == 0


def test_sighup_with_a_wrong_secret_keeps_the_old_key(dockerd, named, containers, watchers, label, tmp_path):
    key = tmp_path / "ddns.key"
    good = named.key_file.read_text()
    key.write_text(good)
    key.chmod(0o600)
    watcher = watchers(key_file=key).start()
    assert named.query(f"{label}-one") == set() and named.query(f"{label}-two") == set()  # the watcher makes them
    one = containers(hostname=f"{label}-one")
    assert wait_for(lambda: named.query(f"{label}-one") == {dockerd.address_of(one)})
    wrong_secret = base64.b64encode(secrets.token_bytes(32)).decode()
    good_secret = re.search(r'secret "([^"]+)"', good).group(1)
    key.write_text(good.replace(good_secret, wrong_secret))  # well-formed, same name and algorithm
    watcher.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "Keeping the old key: the server does not accept the new" in watcher.log_text(), 10), (
        watcher.log_text()
    )
    two = containers(hostname=f"{label}-two")
    assert wait_for(lambda: named.query(f"{label}-two") == {dockerd.address_of(two)}, 10), watcher.log_text()
    log = watcher.log_text()
    assert "Now signing with" not in log and "pending" not in log
    assert wrong_secret not in log and good_secret not in log
    assert watcher.terminate() == 0


def test_a_label_cannot_forge_a_log_line(dockerd, named, containers, watchers, label):
    watcher = watchers().start()
    forged = "I, [2026-11-28T01:50:34.050793 #1]  INFO -- : Removed Docker DNS (000000000000): victim.docker.test."
    container = containers(
        hostname=f"{label}-f", labels={"dockernet.aliases": f"x\n{forged}", "dockernet.ttl": f"30\n{forged}"}
    )
    assert wait_for(lambda: named.query(f"{label}-f") == {dockerd.address_of(container)})
    assert wait_for(lambda: "ignoring dockernet.ttl" in watcher.log_text(), 10)
    log = watcher.log_text()
    assert not any(line.startswith("I, [2026-11-28T01:50:34.050793") for line in log.splitlines())
    assert "x\\nI" in log  # shown, escaped, inside the line that reports it
    assert_one_record_per_line(log)
    assert watcher.terminate() == 0


@pytest.mark.parametrize("key_name", ['a"; }; include "/etc/shadow', "a b", "key;", "k\n", "../k"])
def test_dns_init_refuses_hostile_key_names_and_writes_nothing(tmp_path, key_name):
    target = tmp_path / "named"
    result = run_cli("dns", "init", "--zone", "docker.test", "--dir", str(target), "--key-name", key_name)
    assert result.returncode == 2 and not target.exists()
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dockernet: error: ") and "not a valid key name" in lines[0]


def test_dns_init_into_a_read_only_directory_is_one_line(run_dir, label):
    read_only = run_dir[0] / f"ro-{label}"
    read_only.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(read_only)], check=True)
    try:
        result = run_cli("dns", "init", "--zone", "docker.test", "--dir", str(read_only / "named"))
    finally:
        subprocess.run(["umount", "-l", str(read_only)], check=False)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write into" in lines[0] and "Read-only file system" in lines[0]
    assert "Traceback" not in result.stderr
