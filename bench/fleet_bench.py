#!/usr/bin/env python3
"""Several Docker hosts, one zone: three engines x N containers into a zone that already holds many records.

The fleet of the integration tests (tests/fleet.py): three private engines,
each in its own namespace, a BIND primary (127.0.0.3) and its secondary
(127.0.0.4, NOTIFY + IXFR) in another, the watchers running there too. The
zone is first filled with records of other owners. Reports, each also as a
ratio to a floor measured in the same run:

* burst: every engine starts N containers at once; until all answer;
* takeover: a name held on host 1 and wanted on host 2; from host 1's
  ``docker rm -f`` returning until the primary answers with host 2's address
  (floor: one signed UPDATE, add -> visible);
* primary -> secondary: from the primary answering until the secondary does;
* full resync: ``dns sync`` of one owner (a new process: AXFR of the whole
  zone, plan, send) against the floor of one bare AXFR of the zone;
* peak RSS of each watcher.

    sudo .venv/bin/python bench/fleet_bench.py [--per-host 300] [--others 10000] [--json FILE]

Not part of the test suite; it asserts nothing, it measures.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import dns.message  # noqa: E402
import dns.name  # noqa: E402
import dns.query  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.update  # noqa: E402

from bench.watch_bench import percentile, process_cost, report_costs, save, start_run  # noqa: E402
from dockernet.ddns import socket_in_namespace  # noqa: E402
from tests.fleet import PRIMARY, SECONDARY, FleetDns, fleet_engine  # noqa: E402
from tests.harness import WatcherProcess, delete_netns, remove_run_dir  # noqa: E402


class NsResolver:
    """Queries the fleet's servers from inside their namespace, over one socket."""

    def __init__(self, fleet: FleetDns):
        self.fleet = fleet
        self.path = f"/var/run/netns/{fleet.netns}"
        self.sock = socket_in_namespace(self.path, socket.AF_INET)
        self.zone = dns.name.from_text(fleet.zone)

    def addresses(self, label: str, server: str = PRIMARY) -> set[str]:
        response = dns.query.udp(
            dns.message.make_query(dns.name.from_text(label, self.zone), "A"),
            server,
            port=53,
            timeout=2,
            sock=self.sock,
        )
        return {rdata.to_text() for rrset in response.answer for rdata in rrset if rrset.rdtype == dns.rdatatype.A}

    def wait(self, label: str, want: set[str], server: str = PRIMARY, timeout: float = 30.0) -> float | None:
        """Seconds until ``label`` answers ``want`` at ``server``; None on timeout."""
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            if self.addresses(label, server) == want:
                return time.perf_counter() - start
            time.sleep(0.0005)
        return None

    def update(self, build, tcp: bool = False) -> int:
        key = self.fleet.primary.keyring()
        message = dns.update.UpdateMessage(self.zone, keyring=key.keyring, keyname=key.name)
        build(message)
        if not tcp:
            return dns.query.udp(message, PRIMARY, port=53, timeout=5, sock=self.sock).rcode()
        with socket_in_namespace(self.path, socket.AF_INET, socket.SOCK_STREAM) as stream:
            stream.settimeout(30)
            stream.connect((PRIMARY, 53))
            return dns.query.tcp(message, PRIMARY, port=53, timeout=30, sock=stream).rcode()

    def axfr_seconds(self) -> tuple[float, int]:
        """One AXFR of the zone from the primary (from a thread inside the namespace): seconds, records."""
        from pyroute2 import netns

        key = self.fleet.primary.keyring()
        result: dict = {}

        def transfer() -> None:
            netns.setns(self.path, flags=0)  # this thread only
            started = time.perf_counter()
            count = 0
            for message in dns.query.xfr(
                PRIMARY,
                self.zone,
                port=53,
                keyring=key.keyring,
                keyname=key.name,
                relativize=False,
                timeout=30,
                lifetime=120,
            ):
                count += sum(len(rrset) for rrset in message.answer)
            result["value"] = (time.perf_counter() - started, count)

        worker = threading.Thread(target=transfer)
        worker.start()
        worker.join()
        return result["value"]


def fill_zone(resolver: NsResolver, count: int) -> float:
    """``count`` names of ten other owners (A + ownership TXT each), 200 names per UPDATE."""
    started = time.perf_counter()
    for first in range(0, count, 200):

        def build(message, first=first):
            for i in range(first, min(first + 200, count)):
                name = dns.name.from_text(f"other{i}", resolver.zone)
                message.add(name, 60, "A", f"10.99.{i // 250}.{i % 250 + 1}")
                message.add(name, 60, "TXT", f'"heritage=dockernet,owner=other{i % 10},container={i:012x}"')

        rcode = resolver.update(build, tcp=True)
        if rcode != 0:
            raise RuntimeError(f"filling the zone failed (rcode {rcode})")
    return time.perf_counter() - started


def measure_floor(resolver: NsResolver, rounds: int = 30) -> float:
    """One signed UPDATE add -> visible at the primary, p50, in ms."""
    samples = []
    for i in range(rounds):
        label = f"floor{i}"
        started = time.perf_counter()
        resolver.update(lambda m, label=label: m.add(label, 60, "A", "10.99.255.1"))
        if resolver.wait(label, {"10.99.255.1"}) is None:
            raise RuntimeError("the floor's own update never answered")
        samples.append((time.perf_counter() - started) * 1000)
        resolver.update(lambda m, label=label: m.delete(label))
    return statistics.median(samples)


def burst(engines, resolver: NsResolver, per_host: int) -> dict:
    started = time.perf_counter()

    def start(args):
        index, i = args
        return index, i, engines[index].run(hostname=f"b{index}x{i}")

    with ThreadPoolExecutor(12) as pool:
        made = list(pool.map(start, [(index, i) for i in range(per_host) for index in range(len(engines))]))
    last_run = time.perf_counter()
    missed = 0
    for index, i, container in made:
        if resolver.wait(f"b{index}x{i}", {engines[index].address_of(container)}, timeout=60) is None:
            missed += 1
    done = time.perf_counter()
    return {
        "containers": len(made),
        "all_answer_s": done - started,
        "tail_after_last_run_s": done - last_run,
        "docker_run_all_s": last_run - started,
        "missed": missed,
    }


def takeover(engines, watchers, resolver: NsResolver, rounds: int) -> dict:
    latency, secondary = [], []
    for i in range(rounds):
        label = f"tk{i}"
        holder = engines[0].run(hostname=label)
        assert resolver.wait(label, {engines[0].address_of(holder)}) is not None
        waiting = engines[1].run(hostname=label)
        want = {engines[1].address_of(waiting)}
        marker = f"{label}.docker.test. is owned by"
        deadline = time.monotonic() + 30
        while marker not in watchers[1].log_text() and time.monotonic() < deadline:
            time.sleep(0.01)
        holder.remove(force=True)
        took = resolver.wait(label, want, timeout=30)
        at_primary = time.perf_counter()
        latency.append(took * 1000 if took is not None else float("nan"))
        follow = resolver.wait(label, want, server=SECONDARY, timeout=30)
        secondary.append((time.perf_counter() - at_primary) * 1000 if follow is not None else float("nan"))
    return {"rounds": rounds, "takeover_ms": latency, "secondary_delay_ms": secondary}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-host", type=int, default=300)
    parser.add_argument("--others", type=int, default=10000)
    parser.add_argument("--takeovers", type=int, default=20)
    parser.add_argument("--json", metavar="FILE")
    started = start_run(parser)
    if started is None:
        return 2
    args, base, netns = started
    fleet = FleetDns(base, f"{netns}-dns")
    engines, watchers = [], []
    results: dict = {"per_host": args.per_host, "others": args.others}
    try:
        fleet.start()
        for index in (1, 2, 3):
            engines.append(fleet_engine(base, netns, index))
        resolver = NsResolver(fleet)
        results["fill_s"] = fill_zone(resolver, args.others)
        results["floor_update_ms"] = measure_floor(resolver)
        results["floor_axfr_s"], results["zone_records_before"] = resolver.axfr_seconds()
        workdir = base / "watchers"
        for index, engine in enumerate(engines, 1):
            host_dir = workdir / f"host{index}"
            host_dir.mkdir(parents=True)
            watchers.append(
                WatcherProcess(
                    engine,
                    fleet.primary,
                    host_dir,
                    f"host{index}",
                    key_file=fleet.key_file,
                    netns=fleet.netns,
                    server=PRIMARY,
                    extra=("--settle-time", "1", "--resync-interval", "3600"),
                ).start()
            )
        results["burst"] = burst(engines, resolver, args.per_host)
        results["takeover"] = takeover(engines, watchers, resolver, args.takeovers)
        results["secondary_serial_equal"] = fleet.secondary.serial() == fleet.primary.serial()
        started = time.perf_counter()
        synced = watchers[0].dns("sync")
        results["full_resync_s"] = time.perf_counter() - started
        results["full_resync_exit"] = synced.returncode
        results["zone_axfr_after_s"], results["zone_records_after"] = resolver.axfr_seconds()
        results["watchers"] = [process_cost(watcher.proc.pid) for watcher in watchers]
    finally:
        for watcher in watchers:
            watcher.cleanup()
        for engine in engines:
            with ThreadPoolExecutor(12) as pool:  # hundreds of containers: one at a time takes minutes
                list(pool.map(lambda c: c.remove(force=True), engine.client.containers.list(all=True)))
            engine.stop()
            delete_netns(engine.netns)
        fleet.stop()
        delete_netns(fleet.netns)
        remove_run_dir(base, netns)

    floor = results["floor_update_ms"]
    take = [v for v in results["takeover"]["takeover_ms"] if v == v]
    follow = [v for v in results["takeover"]["secondary_delay_ms"] if v == v]
    rows = [
        ("floor: signed UPDATE add -> visible", floor, "ms", floor),
        (f"burst 3 x {args.per_host}: all answer", results["burst"]["all_answer_s"] * 1000, "ms", floor),
        (
            f"burst 3 x {args.per_host}: tail after last run",
            results["burst"]["tail_after_last_run_s"] * 1000,
            "ms",
            floor,
        ),
        ("takeover p50 (rm returned -> other host answers)", percentile(take, 0.5), "ms", floor),
        ("takeover p95", percentile(take, 0.95), "ms", floor),
        ("takeover max", max(take) if take else float("nan"), "ms", floor),
        ("primary -> secondary p50", percentile(follow, 0.5), "ms", floor),
        ("primary -> secondary max", max(follow) if follow else float("nan"), "ms", floor),
        ("floor: AXFR of the filled zone", results["floor_axfr_s"] * 1000, "ms", results["floor_axfr_s"] * 1000),
        ("full resync of one owner (dns sync)", results["full_resync_s"] * 1000, "ms", results["floor_axfr_s"] * 1000),
    ]
    print(f"{'measure':50} {'value':>10}   {'x floor':>8}")
    for name, value, unit, base_value in rows:
        print(f"{name:50} {value:8.1f} {unit}   {value / base_value:8.2f}")
    print(f"{'missed in the burst':50} {results['burst']['missed']}")
    print(
        f"{'records in the zone (before / after)':50} {results['zone_records_before']} / "
        f"{results['zone_records_after']}"
    )
    report_costs({f"watcher host{index}": cost for index, cost in enumerate(results["watchers"], 1)}, 50)
    save(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
