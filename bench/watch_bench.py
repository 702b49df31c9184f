#!/usr/bin/env python3
"""How close ``dockernet watch`` sits to the floor that named and Docker set.

Runs on the same real components as the integration tests (a private dockerd
in its own network namespace, a named from ``dns init`` on 127.0.0.1, the
busybox image imported from Debian's busybox-static), measures the floor in
the same run, and reports every figure also as a ratio to that floor: the
machine is shared and noisy, so absolute times are context only.

    sudo .venv/bin/python bench/watch_bench.py [--quick] [--json FILE]

Not part of the test suite; it asserts nothing, it measures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.update  # noqa: E402

from bench.profiling import Profiler, report  # noqa: E402
from tests.harness import (  # noqa: E402
    PREFIX,
    PrivateDockerd,
    PrivateNamed,
    WatcherProcess,
    clean_stale_runs,
    missing_tools,
    remove_run_dir,
)


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


class Resolver:
    """Polls named directly: one UDP query is ~0.2 ms on loopback."""

    def __init__(self, named: PrivateNamed):
        self.port = named.port
        self.zone = named.zone

    def addresses(self, label: str) -> set[str]:
        query = dns.message.make_query(f"{label}.{self.zone}", "A")
        response = dns.query.udp(query, "127.0.0.1", port=self.port, timeout=2)
        return {rdata.to_text() for rrset in response.answer for rdata in rrset if rrset.rdtype == dns.rdatatype.A}

    def wait(self, label: str, want: set[str] | None, timeout: float = 10.0) -> tuple[float, set[str]] | None:
        """(seconds, answer) once the answer is ``want`` (None: any non-empty answer); None on timeout."""
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            answer = self.addresses(label)
            if answer == want or (want is None and answer):
                return time.perf_counter() - start, answer
            time.sleep(0.0002)
        return None


def measure_floor(named: PrivateNamed, resolver: Resolver, rounds: int = 50) -> dict:
    """One signed UPDATE straight from dnspython: add, visible; delete, gone; and N back to back."""
    key = named.keyring()
    add_rtt, add_visible, del_rtt = [], [], []

    def update(build):
        message = dns.update.UpdateMessage(named.zone, keyring=key.keyring, keyname=key.name)
        build(message)
        return dns.query.udp(message, "127.0.0.1", port=named.port, timeout=2)

    for i in range(rounds):
        label = f"floor{i}"
        start = time.perf_counter()
        update(
            lambda m: (
                m.absent(label),
                m.add(label, 60, "A", "10.1.255.1"),
                m.add(label, 60, "TXT", '"heritage=dockernet,owner=bench,container=000000000000"'),
            )
        )
        add_rtt.append(time.perf_counter() - start)
        resolver.wait(label, {"10.1.255.1"})
        add_visible.append(time.perf_counter() - start)  # round trip plus one confirming query
        start = time.perf_counter()
        update(lambda m: (m.delete(label, "A"), m.delete(label, "TXT")))
        del_rtt.append(time.perf_counter() - start)
    start = time.perf_counter()
    for i in range(rounds):
        update(lambda m: m.add(f"b2b{i}", 60, "A", "10.1.255.2"))
    back_to_back = (time.perf_counter() - start) / rounds
    for i in range(rounds):
        update(lambda m: m.delete(f"b2b{i}"))
    return {
        "add_rtt_ms": statistics.median(add_rtt) * 1000,
        "add_visible_ms": statistics.median(add_visible) * 1000,
        "delete_rtt_ms": statistics.median(del_rtt) * 1000,
        "back_to_back_ms_per_update": back_to_back * 1000,
    }


def run_sequential(dockerd, resolver, prefix: str, count: int) -> dict:
    """Containers one after another: from ``docker run -d`` returning to the name answering, and back."""
    up, down, missed = [], [], 0
    for i in range(count):
        label = f"{prefix}{i}"
        container = dockerd.run(hostname=label)
        waited = resolver.wait(label, None)  # first answer; checked against the address afterwards
        if waited is None or waited[1] != {dockerd.address_of(container)}:
            missed += 1
        else:
            up.append(waited[0])
        container.remove(force=True)
        waited = resolver.wait(label, set())
        if waited is None:
            missed += 1
        else:
            down.append(waited[0])
    return {
        "up_p50_ms": percentile(up, 0.5) * 1000,
        "up_p95_ms": percentile(up, 0.95) * 1000,
        "up_max_ms": max(up, default=float("nan")) * 1000,
        "down_p50_ms": percentile(down, 0.5) * 1000,
        "down_p95_ms": percentile(down, 0.95) * 1000,
        "down_max_ms": max(down, default=float("nan")) * 1000,
        "missed": missed,
    }


def start_many(dockerd, prefix: str, count: int, workers: int = 8) -> tuple[list, float]:
    """Start ``count`` containers concurrently; returns them and when the last ``run`` returned."""
    with ThreadPoolExecutor(workers) as pool:
        made = list(pool.map(lambda i: dockerd.run(hostname=f"{prefix}{i}"), range(count)))
    return made, time.perf_counter()


def wait_all(resolver, expected: dict[str, set[str]], timeout: float) -> tuple[float, int]:
    """Seconds until every label answers as expected; and how many never did.

    Waits for one name at a time (a name that answers is not asked again), so
    the poller costs about one query per name instead of competing with the
    watcher for the CPU by sweeping every name each round.
    """
    start = time.perf_counter()
    missed = 0
    for label, want in expected.items():
        left = timeout - (time.perf_counter() - start)
        if left <= 0 or resolver.wait(label, want, timeout=left) is None:
            missed += 1
    return time.perf_counter() - start, missed


class ServerLog:
    """When named applied each update, from its own log (millisecond times): the server side of a latency."""

    LINE = re.compile(
        r"(\d\d-\w{3}-\d{4} \d\d:\d\d:\d\d)\.(\d{3}) client .*updating zone '[^']*': "
        r"(adding an RR at|deleting rrset at) '([^']+)' (\w+)"
    )

    def __init__(self, path: Path):
        self.path = path

    def times(self, what: str, rdtype: str = "A", since: float = 0.0) -> dict[str, float]:
        """The first time (epoch seconds, from ``since`` on) each name's ``rdtype`` record was added
        (``what="add"``) or deleted; names are given by their first label."""
        wanted = "adding an RR at" if what == "add" else "deleting rrset at"
        found: dict[str, float] = {}
        for line in self.path.read_text(errors="replace").splitlines():
            match = self.LINE.search(line)
            if match and match.group(3) == wanted and match.group(5) == rdtype:
                when = time.mktime(time.strptime(match.group(1), "%d-%b-%Y %H:%M:%S")) + int(match.group(2)) / 1000
                if when >= since:
                    found.setdefault(match.group(4).split(".")[0], when)
        return found


def latencies(ends: dict[str, float], starts: dict[str, float], prefix: str) -> dict:
    """p50/p95/max of end - start per container (ms; negative: done before the command returned)."""
    values = [ends[label] - starts[label] for label in starts if label in ends]
    return {
        f"{prefix}p50_ms": percentile(values, 0.5) * 1000,
        f"{prefix}p95_ms": percentile(values, 0.95) * 1000,
        f"{prefix}max_ms": max(values, default=float("nan")) * 1000,
        f"{prefix}measured": len(values),
    }


def run_burst(dockerd, resolver, log: ServerLog, count: int, prefix: str = "burst") -> dict:
    """``count`` concurrent runs, then ``count`` concurrent ``rm -f``: per container, from the command returning
    to the name answering (client: a poller per container) and to the UPDATE in the server's log."""
    ran, removed, answered, vanished = {}, {}, {}, {}
    pollers = ThreadPoolExecutor(8)

    def first_time(label: str, present: bool, into: dict) -> None:
        deadline = time.time() + 30
        while time.time() < deadline:
            if bool(resolver.addresses(label)) == present:
                into[label] = time.time()
                return
            time.sleep(0.002)

    def run(i: int):
        label = f"{prefix}{i}"
        container = dockerd.run(hostname=label)
        ran[label] = time.time()
        pollers.submit(first_time, label, True, answered)
        return container

    def remove(item) -> None:
        label, container = item
        container.remove(force=True)
        removed[label] = time.time()
        pollers.submit(first_time, label, False, vanished)

    events = EventClock(dockerd)
    started_at, since = time.perf_counter(), time.time()
    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(run, range(count)))
    last_returned = time.perf_counter()
    expected = {f"{prefix}{i}": {dockerd.address_of(c)} for i, c in enumerate(made)}
    tail, missed = wait_all(resolver, expected, 30)
    all_up = time.perf_counter() - started_at
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(remove, zip(expected, made, strict=True)))
    removed_at = time.perf_counter()
    gone_tail, left = wait_all(resolver, {label: set() for label in expected}, 30)
    pollers.shutdown(wait=True)
    started_events = events.close()
    seen = {f"{prefix}{i}": started_events[c.id] for i, c in enumerate(made) if c.id in started_events}
    return {
        "count": count,
        "all_answer_s": all_up,
        "missed": missed,
        "left_after_removal": left,
        "tail_after_last_run_s": tail,
        "gone_tail_after_last_rm_s": gone_tail,
        "docker_start_all_s": last_returned - started_at,
        "remove_all_s": removed_at - last_returned,
        **latencies(seen, ran, "event_"),
        **latencies(answered, ran, "up_client_"),
        **latencies(log.times("add", since=since), ran, "up_server_"),
        **latencies(vanished, removed, "down_client_"),
        **latencies(log.times("delete", since=since), removed, "down_server_"),
    }


class EventClock:
    """The event floor: a bare subscriber to the engine's event stream, timestamping each container's ``start``
    as it arrives. No event-driven watcher can learn of a container sooner; what dockernet adds is its own."""

    def __init__(self, dockerd):
        import docker

        self.client = docker.APIClient(base_url=dockerd.url, timeout=None)
        self.stream = self.client.events(decode=True, filters={"type": "container", "event": "start"})
        self.seen: dict[str, float] = {}
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        try:
            for event in self.stream:
                self.seen.setdefault(event.get("id", ""), time.time())
        except Exception:  # the stream closed under us (close()): the reading is over
            return

    def close(self) -> dict[str, float]:
        """Stop listening; container id -> when its start event arrived (epoch seconds)."""
        self.stream.close()
        self.client.close()
        self.reader.join(timeout=5)
        return dict(self.seen)


def cold_floor(named, owner: str, per_message: int = 200) -> dict:
    """What named alone needs for a cold start: every record ``owner`` holds now (read by AXFR) is deleted, then
    sent back as signed UPDATEs of ``per_message`` names built and encoded beforehand, back to back over one TCP
    connection. The watcher's cold start cannot be faster than this, whatever it does."""
    key = named.keyring()
    zones = re.findall(r'^zone "([^"]+)"', (named.dir / "named.conf").read_text(), re.M)
    mark = f"owner={owner},"
    held: dict[str, dict] = {}  # zone -> name -> rrsets
    for zone in zones:
        names: dict = {}
        for message in dns.query.xfr(
            "127.0.0.1", zone, port=named.port, keyring=key.keyring, keyname=key.name, relativize=False
        ):
            for rrset in message.answer:
                names.setdefault(rrset.name, []).append(rrset)
        held[zone] = {
            name: rrsets
            for name, rrsets in names.items()
            if any(rrset.rdtype == dns.rdatatype.TXT and mark in rrset.to_text() for rrset in rrsets)
        }

    def messages(build) -> list[bytes]:
        wires = []
        for zone, names in held.items():
            ordered = sorted(names)
            for start in range(0, len(ordered), per_message):
                message = dns.update.UpdateMessage(zone, keyring=key.keyring, keyname=key.name)
                for name in ordered[start : start + per_message]:
                    build(message, name, names[name])
                wires.append(message.to_wire())
        return wires

    def send(wires: list[bytes]) -> None:
        with socket.create_connection(("127.0.0.1", named.port), timeout=30) as sock:
            for wire in wires:
                sock.sendall(len(wire).to_bytes(2, "big") + wire)
                length = int.from_bytes(receive(sock, 2), "big")
                answer = receive(sock, length)
                if answer[3] & 0x0F:
                    raise RuntimeError(f"named answered rcode {answer[3] & 0x0F} to a floor update")

    def receive(sock, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = sock.recv(count - len(data))
            if not chunk:
                raise RuntimeError("named closed the connection")
            data += chunk
        return data

    def add(message, name, rrsets):
        message.absent(name)  # as the watcher does: created only where the name is free
        for rrset in rrsets:
            message.add(name, rrset)

    send(messages(lambda message, name, rrsets: message.delete(name)))
    adds = messages(add)
    started = time.perf_counter()
    send(adds)
    return {
        "names": sum(len(names) for names in held.values()),
        "messages": len(adds),
        "records": sum(len(rrset) for names in held.values() for rrsets in names.values() for rrset in rrsets),
        "send_s": time.perf_counter() - started,
    }


#: a Linux bridge takes at most 1024 ports (BR_MAX_PORTS); docker0 needs none for itself
BRIDGE_PORTS = 1023


def run_flood(dockerd, resolver, count: int, pid: int) -> dict:
    """As many containers as the engine starts with 16 clients, then all removed: the watcher catches up
    without dropping an event, and its memory afterwards is what it was (a burst leaves nothing behind)."""
    before = process_cost(pid)
    running = len(dockerd.client.containers.list())
    if running + count > BRIDGE_PORTS:
        raise SystemExit(
            f"--flood {count} with {running} running exceeds the {BRIDGE_PORTS} ports a Linux bridge "
            f"takes (the engine fails with 'exchange full'); at most {BRIDGE_PORTS - running}"
        )
    started = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        made = list(pool.map(lambda i: dockerd.run(hostname=f"flood{i}"), range(count)))
    expected = {f"flood{i}": {dockerd.address_of(c)} for i, c in enumerate(made)}
    _, missed = wait_all(resolver, expected, 120)
    all_answer = time.perf_counter() - started
    started = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda c: c.remove(force=True), made))
    _, left = wait_all(resolver, {label: set() for label in expected}, 120)
    after = process_cost(pid)
    return {
        "count": count,
        "all_answer_s": all_answer,
        "all_gone_s": time.perf_counter() - started,
        "missed": missed,
        "left": left,
        "rss_before_mb": before["rss_mb"],
        "peak_rss_mb": after["peak_rss_mb"],
        "rss_after_mb": after["rss_mb"],
    }


def process_cost(pid: int) -> dict:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return {
        "peak_rss_mb": int(fields["VmHWM"].split()[0]) / 1024,
        "rss_mb": int(fields["VmRSS"].split()[0]) / 1024,
        "cpu_s": (int(stat[11]) + int(stat[12])) / ticks,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sequential", type=int, default=50)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--cold", type=int, default=500)
    parser.add_argument(
        "--flood",
        type=int,
        default=0,
        metavar="N",
        help="then start N containers at once (10 x the burst), to see memory stay bounded",
    )
    parser.add_argument("--quick", action="store_true", help="small numbers, for a smoke run (10/20/40)")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument(
        "--profile", metavar="DIR", help="sample the watcher with py-spy during the cold start and the burst"
    )
    started = start_run(parser)
    if started is None:
        return 2
    args, base, netns = started
    if args.quick:
        args.sequential, args.burst, args.cold = 10, 20, 40
    results: dict = {}
    with engine_and_server(base, netns) as (dockerd, named):
        resolver = Resolver(named)
        results["floor"] = measure_floor(named, resolver)
        workdir = base / "watchers" / "bench"
        workdir.mkdir(parents=True)

        # the watcher publishes A, AAAA, the ownership TXT and PTR records in both reverse zones
        extra = ("--settle-time", "1", "--reverse-zone", "auto")
        log = ServerLog(named.dir / "named.log")
        watcher = WatcherProcess(dockerd, named, workdir, "bench", extra=extra).start()
        dockerd.run(hostname="warmup").remove(force=True)
        time.sleep(0.5)
        results["sequential"] = run_sequential(dockerd, resolver, "seq", args.sequential)
        results["cost_sequential"] = process_cost(watcher.proc.pid)
        watcher.terminate()

        # cold start: many containers already running when the watcher starts
        made, _ = start_many(dockerd, "cold", args.cold)
        expected = {f"cold{i}": {dockerd.address_of(c)} for i, c in enumerate(made)}
        once = WatcherProcess(dockerd, named, workdir, "bench-once", extra=extra)
        started = time.perf_counter()
        result = once.once()
        once_s = time.perf_counter() - started
        _, once_missed = wait_all(resolver, expected, 5)
        once.once()  # second run: nothing to do
        results["cold_floor"] = cold_floor(named, "bench-once")
        purged = once.dns("purge", "--reverse-zone", "auto")  # clean the zone for the watcher's own cold start
        if purged.returncode != 0:
            raise RuntimeError(f"dns purge failed: {purged.stderr}")
        cold = WatcherProcess(dockerd, named, workdir, "bench-cold", extra=extra)
        profiler = Profiler(Path(args.profile)) if args.profile else None
        launched, launched_at = time.perf_counter(), time.time()
        cold.start(wait=False)
        with profiler.phase("cold", cold.proc.pid) if profiler else nullcontext():
            all_answer, cold_missed = wait_all(resolver, expected, 30)
        watch_all_answer = time.perf_counter() - launched
        first_update = min(log.times("add", since=launched_at - 0.001).get(label, float("inf")) for label in expected)
        results["cold_start"] = {
            "count": args.cold,
            "watch_all_answer_s": watch_all_answer,
            "launch_to_first_update_s": first_update - launched_at,
            "missed": cold_missed,
            "once_s": once_s,
            "once_exit": result.returncode,
            "once_missed": once_missed,
        }
        # the same watcher goes on: sequential with many running, then the burst of runs and removals
        results["sequential_with_many"] = run_sequential(dockerd, resolver, "many", min(args.sequential, 20))
        results["sequential_with_many"]["others_running"] = args.cold
        with profiler.phase("burst", cold.proc.pid) if profiler else nullcontext():
            results["burst"] = run_burst(dockerd, resolver, log, args.burst)
        results["burst"]["others_running"] = args.cold
        results["cost_cold_and_burst"] = process_cost(cold.proc.pid)
        if args.flood:
            results["flood"] = run_flood(dockerd, resolver, args.flood, cold.proc.pid)
        cold.terminate()

    floor = results["floor"]["add_visible_ms"]
    rows = [
        ("floor: signed UPDATE add -> visible", results["floor"]["add_visible_ms"], "ms"),
        ("floor: UPDATE round trip", results["floor"]["add_rtt_ms"], "ms"),
        ("floor: back-to-back, per update", results["floor"]["back_to_back_ms_per_update"], "ms"),
        ("sequential p50 run -> answers", results["sequential"]["up_p50_ms"], "ms"),
        ("sequential p95 run -> answers", results["sequential"]["up_p95_ms"], "ms"),
        ("sequential max run -> answers", results["sequential"]["up_max_ms"], "ms"),
        ("sequential p50 rm -> gone", results["sequential"]["down_p50_ms"], "ms"),
        ("sequential p95 rm -> gone", results["sequential"]["down_p95_ms"], "ms"),
        (f"sequential p50 with {args.cold} running", results["sequential_with_many"]["up_p50_ms"], "ms"),
        (f"event floor {args.burst}: run -> start event, p50", results["burst"]["event_p50_ms"], "ms"),
        (f"event floor {args.burst}: run -> start event, p95", results["burst"]["event_p95_ms"], "ms"),
        (f"burst {args.burst}: run -> UPDATE at server, p50", results["burst"]["up_server_p50_ms"], "ms"),
        (f"burst {args.burst}: run -> UPDATE at server, p95", results["burst"]["up_server_p95_ms"], "ms"),
        (f"burst {args.burst}: run -> answers (client), p95", results["burst"]["up_client_p95_ms"], "ms"),
        (f"burst {args.burst}: rm -> delete at server, p50", results["burst"]["down_server_p50_ms"], "ms"),
        (f"burst {args.burst}: rm -> delete at server, p95", results["burst"]["down_server_p95_ms"], "ms"),
        (f"burst {args.burst}: rm -> gone (client), p95", results["burst"]["down_client_p95_ms"], "ms"),
        (f"burst {args.burst}: tail after last run", results["burst"]["tail_after_last_run_s"] * 1000, "ms"),
        (f"burst {args.burst}: tail after last rm", results["burst"]["gone_tail_after_last_rm_s"] * 1000, "ms"),
        (
            f"cold start {args.cold}: launch -> first UPDATE",
            results["cold_start"]["launch_to_first_update_s"] * 1000,
            "ms",
        ),
        (f"cold start {args.cold}: watch, all answer", results["cold_start"]["watch_all_answer_s"] * 1000, "ms"),
        (f"cold start {args.cold}: watch --once", results["cold_start"]["once_s"] * 1000, "ms"),
        (
            f"cold floor: named applies those {results['cold_floor']['names']} names",
            results["cold_floor"]["send_s"] * 1000,
            "ms",
        ),
    ]
    print(f"{'measure':45} {'value':>10}   {'x floor':>8}")
    for name, value, unit in rows:
        print(f"{name:45} {value:8.2f} {unit}   {value / floor:8.2f}")
    print(
        f"{'missed (seq/burst/cold/once)':45} {results['sequential']['missed']}/{results['burst']['missed']}/"
        f"{results['cold_start']['missed']}/{results['cold_start']['once_missed']}"
    )
    print(f"{'left after burst removal':45} {results['burst']['left_after_removal']}")
    print(
        f"{'scale ratio p50(many)/p50(seq)':45} "
        f"{results['sequential_with_many']['up_p50_ms'] / results['sequential']['up_p50_ms']:10.2f}"
    )
    report_costs({key: results[key] for key in ("cost_sequential", "cost_cold_and_burst")}, 45)
    if "flood" in results:
        flood = results["flood"]
        print(
            f"{'flood ' + str(flood['count']) + ': all answer / all gone':45} {flood['all_answer_s']:8.2f} s / "
            f"{flood['all_gone_s']:.2f} s, missed {flood['missed']}, left {flood['left']}, "
            f"RSS {flood['rss_before_mb']:.1f} -> peak {flood['peak_rss_mb']:.1f} -> {flood['rss_after_mb']:.1f} MB"
        )
    if args.profile:
        for phase in ("cold", "burst"):
            print(report(Path(args.profile) / f"{phase}.txt"))
    save(args.json, results)
    return 0


@contextmanager
def engine_and_server(base: Path, netns: str):
    """A private dockerd with the busybox image and a named from ``dns init``; both gone afterwards, run dir too."""
    dockerd = PrivateDockerd(base, netns)
    named = PrivateNamed(base)
    try:
        dockerd.start()
        dockerd.import_busybox()
        named.provision()
        named.start()
        yield dockerd, named
    finally:
        dockerd.remove_all()
        dockerd.stop()
        named.stop()
        remove_run_dir(base, netns)


def start_run(parser: argparse.ArgumentParser):
    """Parse the bench's arguments and make its run dir: (args, base, netns), or None when a tool is missing."""
    args = parser.parse_args()
    run = run_dir()
    return None if run is None else (args, *run)


def run_dir() -> tuple[Path, str] | None:
    """The run's directory and namespace name (dnt-<pid>), after removing what interrupted runs left;
    None (said on stderr) when a tool is missing."""
    if missing_tools():
        print("needs: " + ", ".join(missing_tools()), file=sys.stderr)
        return None
    clean_stale_runs()
    netns = f"{PREFIX}{os.getpid()}"
    base = Path("/tmp") / netns
    base.mkdir(parents=True, exist_ok=True)
    return base, netns


def report_costs(costs: dict[str, dict], width: int) -> None:
    """One line per process: its peak RSS and CPU time (``process_cost``)."""
    for name, cost in costs.items():
        print(f"{name:{width}} peak RSS {cost['peak_rss_mb']:.1f} MB, CPU {cost['cpu_s']:.2f} s")


def save(path: str | None, results: dict) -> None:
    if path:
        Path(path).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
