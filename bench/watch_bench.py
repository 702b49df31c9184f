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
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.update  # noqa: E402

from tests.harness import (  # noqa: E402
    PREFIX, PrivateDockerd, PrivateNamed, WatcherProcess, clean_stale_runs, missing_tools, remove_run_dir,
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
        update(lambda m: (m.absent(label), m.add(label, 60, "A", "10.1.255.1"),
                          m.add(label, 60, "TXT", '"heritage=dockernet,owner=bench,container=000000000000"')))
        add_rtt.append(time.perf_counter() - start)
        resolver.wait(label, {"10.1.255.1"})
        add_visible.append(time.perf_counter() - start)  # round trip plus one confirming query
        start = time.perf_counter()
        update(lambda m: (m.delete(label, "A"), m.delete(label, "TXT")))
        del_rtt.append(time.perf_counter() - start)
    start = time.perf_counter()
    for i in range(rounds):
        update(lambda m: m.add(f"burst{i}", 60, "A", "10.1.255.2"))
    back_to_back = (time.perf_counter() - start) / rounds
    for i in range(rounds):
        update(lambda m: m.delete(f"burst{i}"))
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
        "up_p50_ms": percentile(up, 0.5) * 1000, "up_p95_ms": percentile(up, 0.95) * 1000,
        "up_max_ms": max(up, default=float("nan")) * 1000,
        "down_p50_ms": percentile(down, 0.5) * 1000, "down_p95_ms": percentile(down, 0.95) * 1000,
        "down_max_ms": max(down, default=float("nan")) * 1000, "missed": missed,
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


def run_burst(dockerd, resolver, count: int) -> dict:
    started_at = time.perf_counter()
    made, last_returned = start_many(dockerd, "burst", count)
    expected = {f"burst{i}": {dockerd.address_of(c)} for i, c in enumerate(made)}
    tail, missed = wait_all(resolver, expected, 30)
    all_up = time.perf_counter() - started_at
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda c: c.remove(force=True), made))
    removed_at = time.perf_counter()
    gone_tail, left = wait_all(resolver, {label: set() for label in expected}, 30)
    return {"count": count, "all_answer_s": all_up, "tail_after_last_run_s": tail, "missed": missed,
            "gone_tail_after_last_rm_s": gone_tail, "left_after_removal": left,
            "docker_start_all_s": last_returned - started_at, "remove_all_s": removed_at - last_returned}


def process_cost(pid: int) -> dict:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return {"peak_rss_mb": int(fields["VmHWM"].split()[0]) / 1024, "rss_mb": int(fields["VmRSS"].split()[0]) / 1024,
            "cpu_s": (int(stat[11]) + int(stat[12])) / ticks}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sequential", type=int, default=50)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--cold", type=int, default=500)
    parser.add_argument("--quick", action="store_true", help="small numbers, for a smoke run (10/20/40)")
    parser.add_argument("--json", metavar="FILE")
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
        watcher = WatcherProcess(dockerd, named, workdir, "bench", extra=extra).start()
        dockerd.run(hostname="warmup").remove(force=True)
        time.sleep(0.5)
        results["sequential"] = run_sequential(dockerd, resolver, "seq", args.sequential)
        results["burst"] = run_burst(dockerd, resolver, args.burst)
        results["cost_after_burst"] = process_cost(watcher.proc.pid)
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
        purged = once.dns("purge", "--reverse-zone", "auto")  # clean the zone for the watcher's own cold start
        if purged.returncode != 0:
            raise RuntimeError(f"dns purge failed: {purged.stderr}")
        cold = WatcherProcess(dockerd, named, workdir, "bench-cold", extra=extra)
        launched = time.perf_counter()
        cold.start(wait=False)
        all_answer, cold_missed = wait_all(resolver, expected, 30)
        results["cold_start"] = {"count": args.cold, "watch_all_answer_s": time.perf_counter() - launched,
                                 "missed": cold_missed, "once_s": once_s, "once_exit": result.returncode,
                                 "once_missed": once_missed}
        # scale: the same sequential run with many others running
        results["sequential_with_many"] = run_sequential(dockerd, resolver, "many", min(args.sequential, 20))
        results["sequential_with_many"]["others_running"] = args.cold
        results["cost_cold"] = process_cost(cold.proc.pid)
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
        (f"burst {args.burst}: tail after last run", results["burst"]["tail_after_last_run_s"] * 1000, "ms"),
        (f"burst {args.burst}: tail after last rm", results["burst"]["gone_tail_after_last_rm_s"] * 1000, "ms"),
        (f"cold start {args.cold}: watch, all answer", results["cold_start"]["watch_all_answer_s"] * 1000, "ms"),
        (f"cold start {args.cold}: watch --once", results["cold_start"]["once_s"] * 1000, "ms"),
    ]
    print(f"{'measure':45} {'value':>10}   {'x floor':>8}")
    for name, value, unit in rows:
        print(f"{name:45} {value:8.2f} {unit}   {value / floor:8.2f}")
    print(f"{'missed (seq/burst/cold/once)':45} {results['sequential']['missed']}/{results['burst']['missed']}/"
          f"{results['cold_start']['missed']}/{results['cold_start']['once_missed']}")
    print(f"{'left after burst removal':45} {results['burst']['left_after_removal']}")
    print(f"{'scale ratio p50(many)/p50(seq)':45} "
          f"{results['sequential_with_many']['up_p50_ms'] / results['sequential']['up_p50_ms']:10.2f}")
    report_costs({key: results[key] for key in ("cost_after_burst", "cost_cold")}, 45)
    save(args.json, results)
    return 0


@contextmanager
def engine_and_server(base: Path, netns: str):
    """A private dockerd with the busybox image and a named from ``dns init``; both gone afterwards, with the run dir."""
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
