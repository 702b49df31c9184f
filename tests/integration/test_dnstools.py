"""dockernet dns check / ls / sync / purge against real named servers configured each way."""

import base64
import json
import os
import re
import shutil
import subprocess
import sys

import dns.query
import dns.update
import pytest

from tests.harness import clean_env, named_with_update_rule, run_cli, wait_for


@pytest.fixture
def named_refusing(run_dir):
    """A named whose zone grants updates to nobody (allow-update { none; })."""
    server = named_with_update_rule(run_dir[0], "named-refusing", "allow-update { none; };")
    yield server
    server.stop()


def lines_of(result):
    return result.stdout.strip().splitlines()


def test_check_passes_against_a_server_that_grants_everything(named, watchers):
    result = watchers().dns("check", "--reverse-zone", "1.10.in-addr.arpa")
    assert result.returncode == 0, result.stdout + result.stderr
    text = result.stdout
    assert 'ok   docker.test: key "ddns-key" may update the zone' in text
    assert 'ok   1.10.in-addr.arpa: key "ddns-key" may transfer the zone' in text
    assert "FAIL" not in text


def test_check_reports_refused_with_the_fix(named_refusing, watchers):
    result = watchers(server=named_refusing).dns("check")
    assert result.returncode == 1
    failing = [line for line in lines_of(result) if line.startswith("FAIL")]
    assert len(failing) == 1 and "REFUSED" in failing[0]
    assert 'allow-update { key "ddns-key"; };' in failing[0]


def test_check_reports_a_zone_not_served(named, watchers):
    result = watchers().dns("check", "--reverse-zone", "9.9.in-addr.arpa")
    assert result.returncode == 1
    assert any(
        line.startswith("FAIL 9.9.in-addr.arpa:")
        and "does not serve this zone (NOTAUTH)" in line
        and 'zone "9.9.in-addr.arpa" { type primary;' in line
        for line in lines_of(result)
    )


def test_check_reports_an_unknown_key_as_badkey(named, watchers, tmp_path):
    key = tmp_path / "other.key"
    key.write_text(
        f'key "stranger" {{ algorithm hmac-sha256; secret "{base64.b64encode(os.urandom(32)).decode()}"; }};\n'
    )
    result = watchers(key_file=key).dns("check")
    assert result.returncode == 1
    assert "BADKEY" in result.stdout and "key 'stranger'" in result.stdout


def test_check_reports_a_missing_transfer_grant(named_no_axfr, watchers):
    result = watchers(server=named_no_axfr).dns("check")
    assert result.returncode == 0  # updates work; the sweep is an improvement, not a requirement
    assert "zone transfer not allowed" in result.stdout and 'allow-transfer { key "ddns-key"; };' in result.stdout


def test_sync_dry_run_prints_nsupdate_input_that_nsupdate_accepts(dockerd, named, containers, watchers, label):
    watcher = watchers()
    container = containers(hostname=label)
    dry = watcher.dns("sync", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    script = dry.stdout
    assert f"prereq nxdomain {label}.docker.test." in script
    assert f"update add {label}.docker.test. 60 A {dockerd.address_of(container)}" in script
    assert named.query(label) == set()  # nothing was sent
    fed = subprocess.run(
        ["nsupdate", "-k", str(named.key_file)], input=script, capture_output=True, text=True, timeout=30
    )
    assert fed.returncode == 0, fed.stderr
    assert named.query(label) == {dockerd.address_of(container)}
    assert watcher.dns("sync", "--dry-run").stdout.strip() == "; nothing to do"  # the records nsupdate made are ours
    container.remove(force=True)
    assert "update delete" in watcher.dns("sync", "--dry-run").stdout
    assert watcher.dns("sync").returncode == 0
    assert named.query(label) == set()


def test_ls_and_purge_by_owner(dockerd, named, containers, watchers, label):
    mine = watchers(owner_id=f"{label}-me").start()
    container = containers(hostname=label)
    assert wait_for(lambda: named.query(label))
    listed = json.loads(mine.dns("ls", "--json").stdout)
    assert [(row["name"], row["container"], row["running"]) for row in listed] == [
        (f"{label}.docker.test.", container.id[:12], True)
    ]
    assert ["A", dockerd.address_of(container)] in listed[0]["records"]
    mine.kill()
    container.remove(force=True)
    other = watchers(owner_id=f"{label}-other")
    everyone = json.loads(other.dns("ls", "--all", "--json").stdout)
    # another host's engine is not asked: whether its container runs is unknown here, not "gone"
    assert any(row["owner"] == f"{label}-me" and row["running"] is None for row in everyone)
    assert f"{label}.docker.test." in other.dns("ls", "--all").stdout
    assert any(
        f"{label}.docker.test." in line and "(other owner)" in line for line in lines_of(other.dns("ls", "--all"))
    )
    # its own host does know: the container is gone
    own_view = json.loads(mine.dns("ls", "--all", "--json").stdout)
    assert any(row["owner"] == f"{label}-me" and row["running"] is False for row in own_view)
    assert other.dns("ls", "--json").stdout.strip() == "[]"
    dry = other.dns("purge", "--owner", f"{label}-me", "--dry-run")
    assert f'prereq yxrrset {label}.docker.test. TXT "heritage=dockernet,owner={label}-me' in dry.stdout
    assert named.query(label)
    assert other.dns("purge", "--owner", f"{label}-me").returncode == 0
    assert named.query(label) == set() and named.query(label, "TXT") == set()


def test_sync_dry_run_stdout_is_only_the_script_even_when_the_log_has_something_to_say(
    dockerd, named_no_axfr, containers, watchers, label
):
    containers(hostname=label)
    dry = watchers(server=named_no_axfr).dns("sync", "--dry-run")
    assert dry.returncode == 0
    assert "Zone transfer" in dry.stderr  # the warning goes to stderr...
    assert all(line.split()[0] in ("server", "zone", "prereq", "update", "send") for line in dry.stdout.splitlines())


def test_check_measures_the_clock_skew_behind_badtime(named, watchers):
    if shutil.which("faketime") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("faketime is missing under CI")
        pytest.skip("needs faketime")
    watcher = watchers()
    args = [
        "faketime",
        "-f",
        "-600s",
        sys.executable,
        "-m",
        "dockernet",
        "--docker-host",
        watcher.dockerd.url,
        "dns",
        "check",
        *named.client_args(),
    ]
    result = subprocess.run(args, capture_output=True, text=True, env=clean_env(), timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    line = next(line for line in lines_of(result) if "BADTIME" in line)
    seconds = float(re.search(r"the server's clock is ([+-]\d+) s from ours", line).group(1))
    assert 590 <= seconds <= 610, line  # our clock runs 600 s behind the server's
    assert "synchronise them (NTP)" in line


def _marked(owner, short_id):
    return f'"heritage=dockernet,owner={owner},container={short_id}"'


@pytest.mark.parametrize("how", ["dns purge", "cleanup-on-exit"])
def test_one_removal_path_finds_every_ptr_of_the_owner_without_reverse_zone(
    dockerd, named, containers, watchers, label, how
):
    from tests.support import ipv6_of, ptr_name

    owner = f"{label}-gone"
    writer = watchers(owner_id=owner, extra=("--settle-time", "1", "--reverse-zone", "auto")).start()
    container = containers(hostname=label)
    v4, v6 = dockerd.address_of(container), ipv6_of(dockerd, container)
    fqdn = f"{label}.docker.test."
    assert wait_for(lambda: named.query(ptr_name(v4), "PTR") == {fqdn} and named.query(ptr_name(v6), "PTR") == {fqdn})
    writer.kill()
    # someone else's records, forward and reverse, each with its own owner's mark
    other_address = f"10.1.254.{int(label[1:3], 16) % 250 + 2}"  # one per test: no container has it
    other_ptr = ptr_name(other_address)
    assert (
        named.update(
            lambda u: (
                u.add(f"{label}-other", 60, "A", other_address),
                u.add(f"{label}-other", 60, "TXT", _marked("someone-else", "0" * 12)),
            )
        )
        == 0
    )
    key = named.keyring()
    reverse = dns.update.UpdateMessage("1.10.in-addr.arpa", keyring=key.keyring, keyname=key.name)
    reverse.add(other_ptr, 60, "PTR", f"{label}-other.docker.test.")
    reverse.add(other_ptr, 60, "TXT", _marked("someone-else", "0" * 12))
    assert dns.query.tcp(reverse, "127.0.0.1", port=named.port, timeout=5).rcode() == 0

    if how == "dns purge":
        dry = watchers(owner_id=f"{label}-admin").dns("purge", "--owner", owner, "--dry-run")
        assert f"update delete {ptr_name(v4)} PTR" in dry.stdout and f"update delete {ptr_name(v6)} PTR" in dry.stdout
        result = watchers(owner_id=f"{label}-admin").dns("purge", "--owner", owner)  # no --reverse-zone
        assert result.returncode == 0, result.stderr
    else:
        container.remove(force=True)  # its records stay while no watcher runs
        again = watchers(owner_id=owner, extra=("--settle-time", "60", "--cleanup-on-exit")).start()
        assert again.terminate() == 0  # cleans up, also the PTRs it was not told about this time

    for name, rdtype in (
        (label, "A"),
        (label, "AAAA"),
        (label, "TXT"),
        (ptr_name(v4), "PTR"),
        (ptr_name(v4), "TXT"),
        (ptr_name(v6), "PTR"),
        (ptr_name(v6), "TXT"),
    ):
        assert named.query(name, rdtype) == set(), (name, rdtype)
    assert named.query(f"{label}-other") == {other_address}
    assert named.query(other_ptr, "PTR") == {f"{label}-other.docker.test."}
    named.update(lambda u: u.delete(f"{label}-other"))
    reverse = dns.update.UpdateMessage("1.10.in-addr.arpa", keyring=key.keyring, keyname=key.name)
    reverse.delete(other_ptr)
    dns.query.tcp(reverse, "127.0.0.1", port=named.port, timeout=5)


@pytest.mark.parametrize("state", ["missing", "empty"])
def test_read_only_commands_write_nothing(dockerd, named, containers, watchers, label, tmp_path, state):
    mine = watchers(owner_id=f"{label}-ro").start()
    containers(hostname=label)
    assert wait_for(lambda: named.query(label))
    mine.kill()
    state_dir = tmp_path / "state"
    if state == "empty":
        state_dir.mkdir()
    for verb, *more in (("ls",), ("ls", "--all"), ("check",), ("sync", "--dry-run"), ("purge", "--dry-run")):
        result = run_cli(
            "--docker-host",
            dockerd.url,
            "dns",
            verb,
            "--server",
            "127.0.0.1",
            "--port",
            str(named.port),
            "--zone",
            named.zone,
            "--key-file",
            str(named.key_file),
            "--owner-id",
            f"{label}-ro",
            "--state-dir",
            str(state_dir),
            "--reverse-zone",
            "auto",
            *more,
        )
        assert result.returncode == 0, (verb, result.stdout, result.stderr)
        if state == "missing":
            assert not state_dir.exists(), verb
        else:
            assert list(state_dir.iterdir()) == [], verb
    assert named.query(label)  # and nothing was sent
