"""Several Docker hosts, one zone: three engines, a BIND primary and its secondary, watchers with their own owner ids.

Everything runs in namespaces of the test's own (tests/fleet.py): the
engines each in one, the primary (127.0.0.3) and the secondary (127.0.0.4)
in another, where the watchers run too.
"""

from __future__ import annotations

import json
import time

import dns.name
import pytest

from dockernet.publish.registry import lease_name, parse_lease, parse_mark
from tests.harness import wait_for


@pytest.fixture
def run_on(fleet_engines):
    """Start a container on engine ``index`` (1-3); every one is removed after the test."""
    started = []

    def run(index, hostname, **kwargs):
        engine = fleet_engines[index - 1]
        container = engine.run(hostname=hostname, **kwargs)
        started.append((engine, container.id))
        return container

    yield run
    for engine, container_id in started:
        try:
            engine.client.api.remove_container(container_id, force=True)
        except Exception:
            pass


def address(engine, container) -> str:
    return engine.address_of(container)


def marks(server, name: str) -> list:
    fqdn = dns.name.from_text(name, origin=dns.name.from_text(server.zone))
    return [parse_mark(text) for text in server.txt(fqdn)]


def test_a_watcher_given_only_the_secondary_updates_the_primary(
    fleet_dns, fleet_engines, fleet_watchers, run_on, label
):
    watcher = fleet_watchers(fleet_engines[2], f"{label}-h3", server="secondary").start()
    container = run_on(3, f"{label}-web")
    want = {address(fleet_engines[2], container)}
    assert wait_for(lambda: fleet_dns.primary.query(f"{label}-web") == want), watcher.log_text()[-2000:]
    # the secondary follows by NOTIFY and IXFR
    assert wait_for(lambda: fleet_dns.secondary.query(f"{label}-web") == want, 20)
    text = watcher.log_text()
    assert "go to its primary ns.docker.test (127.0.0.3#53), named in the SOA 127.0.0.4#53 answered" in text
    assert "REFUSED" not in text and "NOTAUTH" not in text


def test_a_secondary_given_as_primary_is_named_as_such_when_it_refuses(fleet_dns, fleet_engines, fleet_watchers, label):
    watcher = fleet_watchers(fleet_engines[2], f"{label}-h3", server="secondary")
    result = watcher.once("--primary", "127.0.0.4")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert (
        "127.0.0.4#53 is a secondary of the zone, not its primary: the SOA names ns.docker.test (127.0.0.3)" in lines[0]
    )
    assert "allow-update" not in lines[0]


def test_a_name_released_on_one_host_is_taken_by_the_other_at_once(
    fleet_dns, fleet_engines, fleet_watchers, run_on, label
):
    # resyncs are an hour away, and host 2's container runs before its watcher starts (no late event of its can
    # take the name): only the watch of names held by others can hand the name over
    slow = ("--settle-time", "1", "--resync-interval", "3600")
    fleet_watchers(fleet_engines[0], f"{label}-h1", extra=slow).start()
    one = run_on(1, f"{label}-db")
    assert wait_for(lambda: fleet_dns.primary.query(f"{label}-db") == {address(fleet_engines[0], one)})
    two = run_on(2, f"{label}-db")
    second = fleet_watchers(fleet_engines[1], f"{label}-h2", extra=slow).start()
    assert wait_for(lambda: f"{label}-db.docker.test. is owned by {label}-h1" in second.log_text()), second.log_text()
    assert fleet_dns.primary.query(f"{label}-db") == {address(fleet_engines[0], one)}

    fleet_engines[0].client.api.remove_container(one.id, force=True)
    want = {address(fleet_engines[1], two)}
    assert wait_for(lambda: fleet_dns.primary.query(f"{label}-db") == want, 10), second.log_text()[-3000:]
    assert marks(fleet_dns.primary, f"{label}-db") == [(f"{label}-h2", two.id[:12])]
    assert wait_for(lambda: fleet_dns.secondary.query(f"{label}-db") == want, 20)
    assert "is no longer owned by" in second.log_text()


def test_one_owners_purge_resync_and_cleanup_never_touch_anothers(
    fleet_dns, fleet_engines, fleet_watchers, run_on, label
):
    keep = fleet_watchers(fleet_engines[0], f"{label}-keep").start()
    go = fleet_watchers(fleet_engines[1], f"{label}-go", extra=("--settle-time", "0", "--cleanup-on-exit")).start()
    for i in range(3):
        run_on(1, f"{label}-k{i}")
        run_on(2, f"{label}-g{i}")
    for i in range(3):
        assert wait_for(lambda: fleet_dns.primary.query(f"{label}-k{i}") and fleet_dns.primary.query(f"{label}-g{i}"))
    kept_before = {i: fleet_dns.primary.query(f"{label}-k{i}") for i in range(3)}
    assert go.dns("sync").returncode == 0  # a resync of one owner, next to its running watcher
    assert go.terminate() == 0  # --cleanup-on-exit
    for i in range(3):
        assert fleet_dns.primary.query(f"{label}-g{i}") == set()
        assert fleet_dns.primary.query(f"{label}-k{i}") == kept_before[i]
    # a purge of the kept owner from the other host removes its records, and only those
    bystander = run_on(2, f"{label}-bystander")
    other = fleet_watchers(fleet_engines[1], f"{label}-other").start()
    assert wait_for(lambda: fleet_dns.primary.query(f"{label}-bystander"))
    refused = other.dns("purge", "--owner", f"{label}-keep")  # its watcher runs: it would publish them again
    assert refused.returncode == 1 and "that watcher is still running" in refused.stderr, refused.stderr
    assert all(fleet_dns.primary.query(f"{label}-k{i}") == kept_before[i] for i in range(3))
    assert keep.terminate() == 0
    result = other.dns("purge", "--owner", f"{label}-keep")
    assert result.returncode == 0, result.stderr
    assert all(fleet_dns.primary.query(f"{label}-k{i}") == set() for i in range(3))
    assert fleet_dns.primary.query(f"{label}-bystander") == {address(fleet_engines[1], bystander)}


def test_check_names_the_primary_and_each_secondarys_serial(fleet_dns, fleet_engines, fleet_watchers, label):
    watcher = fleet_watchers(fleet_engines[2], f"{label}-h3", server="secondary")
    serial = fleet_dns.primary.serial()  # other tests' watchers may still be writing: wait for the secondary
    assert wait_for(lambda: fleet_dns.secondary.serial() == serial == fleet_dns.primary.serial(), 20)
    result = watcher.dns("check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        f"ok   docker.test: primary ns.docker.test at 127.0.0.3#53 (found through 127.0.0.4#53), serial {serial}"
        in result.stdout
    ), result.stdout
    assert f"ok   docker.test: secondary ns2.docker.test at 127.0.0.4#53: serial {serial}, current" in result.stdout

    fleet_dns.secondary.stop()  # a secondary that does not answer is worth a warning, not a failed check
    try:
        result = fleet_watchers(fleet_engines[2], f"{label}-h3").dns("check")
        assert result.returncode == 0
        assert "warn docker.test: secondary ns2.docker.test at 127.0.0.4#53: no answer" in result.stdout, result.stdout
    finally:
        fleet_dns.secondary.start()


def engine_id(engine) -> str:
    return engine.client.info()["ID"]


def lease_of(fleet_dns, owner):
    texts = fleet_dns.primary.txt(lease_name(owner, dns.name.from_text(fleet_dns.zone)))
    return parse_lease(texts[0]) if len(texts) == 1 else None


def test_two_engines_with_one_owner_id_delete_nothing_and_say_so(
    fleet_dns, fleet_engines, fleet_watchers, run_on, label
):
    owner = f"{label}-clone"
    first = fleet_watchers(fleet_engines[0], owner).start()
    one = run_on(1, f"{label}-one")
    want = {address(fleet_engines[0], one)}
    assert wait_for(lambda: fleet_dns.primary.query(f"{label}-one") == want)
    assert lease_of(fleet_dns, owner).engine == engine_id(fleet_engines[0])

    # the clone's engine lists none of those containers: without the lease, each of these would delete them
    clone = fleet_watchers(fleet_engines[1], owner)
    for attempt in (clone.once(), clone.dns("sync"), clone.dns("sync", "--take-over-owner")):
        assert attempt.returncode == 1
        lines = attempt.stderr.strip().splitlines()
        assert len(lines) == 1, attempt.stderr
        assert engine_id(fleet_engines[0]) in lines[0] and f"owner id '{owner}'" in lines[0]
    assert engine_id(fleet_engines[1]) in lines[0] or "its watcher is running" in lines[0]
    clone.start(wait=False)
    assert clone.proc.wait(timeout=30) == 1
    assert engine_id(fleet_engines[1]) in clone.stderr_text()
    assert fleet_dns.primary.query(f"{label}-one") == want
    assert marks(fleet_dns.primary, f"{label}-one") == [(owner, one.id[:12])]
    assert first.proc.poll() is None


def test_a_paused_host_whose_owner_id_was_taken_over_stops_without_deleting(
    fleet_dns, fleet_engines, fleet_watchers, run_on, label
):
    """A VM frozen past its lease: the reinstalled engine takes the owner id over; the thawed one must not fight."""
    owner = f"{label}-vm"
    fast = ("--settle-time", "0", "--lease-interval", "1")
    old = fleet_watchers(fleet_engines[0], owner, extra=(*fast, "--cleanup-on-exit")).start()
    run_on(1, f"{label}-old")
    assert wait_for(lambda: fleet_dns.primary.query(f"{label}-old"))
    old.proc.send_signal(19)  # SIGSTOP
    try:
        seen = lease_of(fleet_dns, owner).seen
        assert wait_for(lambda: lease_of(fleet_dns, owner).seen == seen and time.time() > seen + 3.5, 10, 0.2)
        new = fleet_watchers(fleet_engines[1], owner, extra=(*fast, "--take-over-owner")).start()
        fresh = run_on(2, f"{label}-new")
        want = {address(fleet_engines[1], fresh)}
        assert wait_for(lambda: fleet_dns.primary.query(f"{label}-new") == want)
        assert "Taking over owner id" in new.log_text()
        assert lease_of(fleet_dns, owner).engine == engine_id(fleet_engines[1])
    finally:
        old.proc.send_signal(18)  # SIGCONT
    assert old.proc.wait(timeout=30) == 1
    assert f"was taken over by engine {engine_id(fleet_engines[1])}" in old.log_text()
    assert "Removing this owner's records" not in old.log_text()  # --cleanup-on-exit skipped
    assert fleet_dns.primary.query(f"{label}-new") == want
    assert marks(fleet_dns.primary, f"{label}-new") == [(owner, fresh.id[:12])]
    assert new.proc.poll() is None


def test_adopt_owner_moves_every_name_of_a_renamed_host(fleet_dns, fleet_engines, fleet_watchers, run_on, label):
    old_id, new_id = f"{label}-oldname", f"{label}-newname"
    old = fleet_watchers(fleet_engines[2], old_id).start()
    started = [run_on(3, f"{label}-a{i}") for i in range(5)]
    wanted = {f"{label}-a{i}": {address(fleet_engines[2], c)} for i, c in enumerate(started)}
    assert wait_for(lambda: all(fleet_dns.primary.query(name) == want for name, want in wanted.items()))
    assert old.terminate() == 0

    # the same engine under a new owner id: the old lease is its own, so it is adopted at once
    new = fleet_watchers(fleet_engines[2], new_id, extra=("--settle-time", "1", "--adopt-owner", old_id))
    new.start(wait=False)
    new_started = wait_for(lambda: "Watching Docker events" in new.log_text() or new.proc.poll() is not None, 30)
    assert new_started and new.proc.poll() is None, new.stderr_text()
    assert "Adopted 5 name(s)" in new.log_text()
    for i, container in enumerate(started):
        name = f"{label}-a{i}"
        assert fleet_dns.primary.query(name) == wanted[name]
        assert marks(fleet_dns.primary, name) == [(new_id, container.id[:12])]  # one mark: none duplicated
    assert lease_of(fleet_dns, old_id) is None
    assert "Removed Docker DNS" not in new.log_text()


def test_ls_all_shows_each_owners_last_sign_of_life_and_purge_retires_a_stopped_host(
    fleet_dns, fleet_engines, fleet_watchers, run_on, label
):
    fast = ("--settle-time", "1", "--lease-interval", "1")
    stays = fleet_watchers(fleet_engines[0], f"{label}-stays", extra=fast).start()
    leaves = fleet_watchers(fleet_engines[1], f"{label}-leaves", extra=fast).start()
    run_on(1, f"{label}-s")
    run_on(2, f"{label}-l")
    assert wait_for(lambda: fleet_dns.primary.query(f"{label}-s") and fleet_dns.primary.query(f"{label}-l"))
    text = stays.dns("ls", "--all").stdout
    assert f"owner {label}-stays: watcher running; engine {engine_id(fleet_engines[0])}" in text, text
    assert f"owner {label}-leaves: watcher running; engine {engine_id(fleet_engines[1])}" in text
    assert text.index(f"owner {label}-stays:") < text.index(f"  {label}-s.docker.test.")  # grouped under its owner

    leaves.proc.send_signal(19)  # SIGSTOP: the host is unreachable; its records and its lease stay behind
    try:
        refused = stays.dns("purge", "--owner", f"{label}-leaves")  # renewed moments ago: it might still run
        assert refused.returncode == 1 and "that watcher is still running" in refused.stderr, refused.stderr
        assert fleet_dns.primary.query(f"{label}-l")
        seen = lease_of(fleet_dns, f"{label}-leaves").seen
        assert wait_for(lambda: time.time() > seen + 3.5, 10, 0.2)  # three missed renewals
        # all of this runs on one machine, where its pid shows it still runs: only another host's view is by time
        stale = json.loads(stays.dns("ls", "--all", "--json").stdout)
        assert [row["lease"]["alive"] for row in stale if row["owner"] == f"{label}-leaves"] == [True]
    finally:
        leaves.kill()  # the host is gone for good: on this machine its pid says so at once
    stale = json.loads(stays.dns("ls", "--all", "--json").stdout)
    assert [row["lease"]["alive"] for row in stale if row["owner"] == f"{label}-leaves"] == [False]
    retire = stays.dns("purge", "--owner", f"{label}-leaves")
    assert retire.returncode == 0, retire.stderr
    assert fleet_dns.primary.query(f"{label}-l") == set()
    assert lease_of(fleet_dns, f"{label}-leaves") is None
    assert f"owner {label}-leaves:" not in stays.dns("ls", "--all").stdout
    assert fleet_dns.primary.query(f"{label}-s")  # the other host is untouched
