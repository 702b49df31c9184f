"""The key file and the journal under an operator's mistakes and a host's faults, on the real dockerd and named.

A FIFO put where the key file was and a SIGHUP; a full disk that clears
while the watcher runs; a state directory that is read-only from the start.
The watcher must keep publishing through all of them, say so in one line,
and be able to clean up after a crash once the fault is gone. Every wait is
for the state being checked, bounded.
"""

import contextlib
import os
import re
import signal

import dns.name
import pytest

from dockernet.sync.journal import Journal
from tests.harness import fill, free_port, tmpfs, wait_for
from tests.support import http_get


@pytest.fixture
def mounts(run_dir, label):
    """``mounts(options)``: a fresh tmpfs under the run dir; every one is unmounted after the test."""
    with contextlib.ExitStack() as stack:
        made = []

        def mount(options):
            made.append(stack.enter_context(tmpfs(run_dir[0] / f"mnt-{label}-{len(made)}", options)))
            return made[-1]

        yield mount


def journal_names(state, owner):
    return set(Journal(state, owner).open(writable=False))


def lines_with(text, needle):
    return [line for line in text.splitlines() if needle in line]


def test_sighup_with_a_fifo_as_key_file_keeps_the_old_key_and_the_loop_running(
    dockerd, named, containers, watchers, label, tmp_path
):
    key = tmp_path / "ddns.key"
    key.write_bytes(named.key_file.read_bytes())
    key.chmod(0o600)
    watcher = watchers(key_file=key).start()
    one = containers(hostname=f"{label}-one")
    assert wait_for(lambda: named.query(f"{label}-one") == {dockerd.address_of(one)}), watcher.log_text()
    key.unlink()
    os.mkfifo(key, 0o600)  # nobody will ever write into it: a blocking open() would wait forever
    watcher.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "Keeping the old key" in watcher.log_text(), 10), watcher.log_text()
    two = containers(hostname=f"{label}-two")  # the event loop still runs, and still signs with the old key
    assert wait_for(lambda: named.query(f"{label}-two") == {dockerd.address_of(two)}, 10), watcher.log_text()
    log = watcher.log_text()
    said = lines_with(log, "Keeping the old key")
    assert len(said) == 1 and f"key file {key} is a FIFO, not a regular file" in said[0], said
    assert "Now signing with" not in log and "pending" not in log
    assert watcher.proc.poll() is None and watcher.terminate() == 0


def test_names_written_while_the_disk_was_full_reach_the_journal_once_it_clears(
    dockerd, named_no_axfr, containers, watchers, label, mounts
):
    named = named_no_axfr  # no zone transfer: after a crash, the journal is the only way to find the records
    state = mounts("size=64k")
    filler = fill(state)
    port = free_port()
    watcher = watchers(
        server=named, extra=("--settle-time", "1", "--state-dir", str(state), "--metrics-listen", f"127.0.0.1:{port}")
    ).start()
    names = [f"{label}-{i}" for i in range(3)]
    running = [containers(hostname=name) for name in names]
    assert wait_for(
        lambda: all(named.query(n) == {dockerd.address_of(c)} for n, c in zip(names, running, strict=True)), 15
    ), watcher.log_text()
    assert wait_for(lambda: "Cannot write the journal" in watcher.log_text(), 10)
    assert http_get(port, "/healthz")[1].startswith("degraded: journal not written (No space left on device)")
    filler.unlink()  # the disk clears; the watcher idles: no container changes to write a line for
    fqdns = {dns.name.from_text(f"{name}.{named.zone}") for name in names}
    assert wait_for(lambda: fqdns <= journal_names(state, watcher.owner), 10), watcher.log_text()
    assert wait_for(lambda: http_get(port, "/healthz") == (200, "ok\n"), 10)
    log = watcher.log_text()
    assert len(lines_with(log, "Cannot write the journal")) == 1 and len(lines_with(log, "is written again")) == 1
    metrics = http_get(port, "/metrics")[1]
    assert float(re.search(r"^dockernet_journal_write_failures_total (\S+)$", metrics, re.M).group(1)) >= 1
    # a crash now: the restarted watcher finds every record from the journal, and removes those of gone containers
    watcher.kill()
    for container in running:
        container.remove(force=True)
    watcher.start()
    assert wait_for(lambda: not any(named.query(n) or named.query(n, "TXT") for n in names), 30), watcher.log_text()
    assert watcher.terminate() == 0


# (a short name: the owner id, made of the first 50 characters of the test id, differs between the two)
@pytest.mark.parametrize("transfer", [True, False], ids=["transfer", "no-transfer"])
def test_read_only_state_dir_warns_and_runs(
    dockerd, named, named_no_axfr, containers, watchers, label, mounts, transfer
):
    server = named if transfer else named_no_axfr
    state = mounts("ro,size=64k")
    port = free_port()
    watcher = watchers(
        server=server, extra=("--settle-time", "1", "--state-dir", str(state), "--metrics-listen", f"127.0.0.1:{port}")
    ).start()
    container = containers(hostname=label)
    assert wait_for(lambda: server.query(label) == {dockerd.address_of(container)}, 15), watcher.log_text()
    log = watcher.log_text()
    warned = lines_with(log, "Cannot write the journal")
    assert len(warned) == 1 and " WARN -- : " in warned[0] and "(Read-only file system)" in warned[0], "\n".join(warned)
    # without zone transfer too, nothing would find this watcher's records after a crash: said loudly, once
    loud = lines_with(log, "No zone transfer and the journal")
    assert len(loud) == (0 if transfer else 1) and all(" ERROR -- : " in line for line in loud), loud
    status, body = http_get(port, "/healthz")
    assert status == 200 and body == "degraded: journal not written (Read-only file system): crash recovery is off\n"
    if transfer:  # names are known from the zone transfer: a crash is still cleaned up
        watcher.kill()
        container.remove(force=True)
        watcher.start()
        assert wait_for(lambda: server.query(label) == set() and server.query(label, "TXT") == set(), 30), (
            watcher.log_text()
        )
    else:
        container.remove(force=True)
        assert wait_for(lambda: server.query(label) == set(), 15), watcher.log_text()
    assert watcher.terminate() == 0
