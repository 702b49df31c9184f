"""What the daemon reports about itself: health (``/healthz``) and Prometheus metrics.

Both the watch loop and the books of ``sync`` write them, so they live
beside neither. Without ``--metrics-listen`` the Prometheus client is never
imported: ``NullMetrics`` takes the calls.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Health:
    """Whether Docker and the DNS server were reached recently (``/healthz``)."""

    docker_connected: bool = False
    dns_ok_at: float = 0.0
    dns_failing: bool = False
    stale_after: float = 60.0
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    #: names the server rejected and that are set aside (the rest is published: degraded, not failing)
    rejected_names: int = 0
    #: why the journal cannot be written ("" while it can): crash recovery is off, updates go on
    journal_error: str = ""

    def dns_reached(self) -> None:
        self.dns_ok_at = self.clock()
        self.dns_failing = False

    def dns_failed(self) -> None:
        self.dns_failing = True

    def dns_probe_due(self, now: float) -> bool:
        """Whether the DNS server went unheard for half of ``stale_after``: an idle watcher then probes it."""
        return now - self.dns_ok_at > self.stale_after / 2

    def problems(self) -> list[str]:
        problems = []
        if not self.docker_connected:
            problems.append("Docker event stream not connected")
        if self.dns_failing:
            problems.append("DNS server failing")
        elif not self.dns_ok_at or self.clock() - self.dns_ok_at > self.stale_after:
            problems.append("DNS server not reached recently")
        return problems

    def degradations(self) -> list[str]:
        """What works only in part: reported by /healthz with status 200, after ``degraded:``."""
        found = []
        if self.rejected_names:
            found.append(f"{self.rejected_names} name(s) rejected by the DNS server and set aside (see the log)")
        if self.journal_error:
            found.append(f"journal not written ({self.journal_error}): crash recovery is off")
        return found


class NullMetrics:
    """Takes every metrics call and does nothing."""

    def event_seen(self, action: str) -> None: ...
    def update_done(self, rcode: str) -> None: ...
    def update_failed(self, code: str) -> None: ...
    def pending(self, count: int) -> None: ...
    def reconciled(self) -> None: ...
    def latency(self, seconds: float) -> None: ...
    def rejected(self, count: int) -> None: ...
    def journal_failed(self) -> None: ...
    def blocked(self, count: int) -> None: ...
    def blocked_checked(self, kind: str) -> None: ...


#: label values every series starts with at 0, so rate() and dashboards see them before the first one happens
KNOWN_RCODES = ("NOERROR", "PREREQUISITE_FAILED")
KNOWN_FAILURES = ("UNREACHABLE", "SERVFAIL", "CONTENDED", "REFUSED", "NOTAUTH", "NOTZONE")
KNOWN_CHECKS = ("serial", "name")


class PrometheusMetrics(NullMetrics):
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram  # only with --metrics-listen

        self.registry = CollectorRegistry()
        self._events = Counter("dockernet_events", "Docker events seen", ["action"], registry=self.registry)
        self._updates = Counter(
            "dockernet_updates", "DNS UPDATEs answered, by rcode", ["rcode"], registry=self.registry
        )
        self._failed = Counter(
            "dockernet_update_failures", "DNS UPDATEs that failed, by reason", ["code"], registry=self.registry
        )
        self._pending = Gauge("dockernet_pending_changes", "Names waiting for the DNS server", registry=self.registry)
        self._last_reconcile = time.monotonic()
        self._reconciled_once = False
        self._export_reconcile_age()
        self._rejected = Gauge(
            "dockernet_rejected_names",
            "Names the DNS server rejected, set aside until their container changes",
            registry=self.registry,
        )
        self._blocked = Gauge(
            "dockernet_blocked_names",
            "Names a container wants that another owner or a person holds",
            registry=self.registry,
        )
        self._blocked_checks = Counter(
            "dockernet_blocked_checks",
            "Looks at names held by others: SOA serial queries and name look-ups",
            ["kind"],
            registry=self.registry,
        )
        self._journal_errors = Counter(
            "dockernet_journal_write_failures", "Journal writes that failed", registry=self.registry
        )
        self._latency = Histogram(
            "dockernet_event_to_update_seconds",
            "From a Docker event to its DNS update being applied",
            buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self._start_series_at_zero()

    def _export_reconcile_age(self) -> None:
        """Seconds since the last full reconcile that applied everything, computed at each scrape (NaN before)."""
        from prometheus_client import Gauge  # only with --metrics-listen

        gauge = Gauge(
            "dockernet_seconds_since_reconcile",
            "Seconds since the last full reconcile that applied everything",
            registry=self.registry,
        )
        gauge.set_function(lambda: time.monotonic() - self._last_reconcile if self._reconciled_once else float("nan"))

    def _start_series_at_zero(self) -> None:
        """Every known label value of the counters at 0, so rate() and dashboards see it before it first happens."""
        # only with --metrics-listen: NullMetrics runs without it
        from dockernet.engine.model import CONTAINER_ACTIONS, NETWORK_ACTIONS

        for counter, values in (
            (self._events, (*sorted(CONTAINER_ACTIONS), *sorted(NETWORK_ACTIONS))),
            (self._updates, KNOWN_RCODES),
            (self._failed, KNOWN_FAILURES),
            (self._blocked_checks, KNOWN_CHECKS),
        ):
            for value in values:
                counter.labels(value)

    def watch_health(self, health: Health) -> None:
        """Export what /healthz answers, as numbers a dashboard can draw (a scrape's ``up`` only says it answered)."""
        from prometheus_client import Gauge  # the Prometheus client loads only with --metrics-listen

        healthy = Gauge(
            "dockernet_healthy",
            "1 while /healthz answers 200: event stream connected, DNS server reached within the last minute",
            registry=self.registry,
        )
        healthy.set_function(lambda: 0.0 if health.problems() else 1.0)
        degraded = Gauge(
            "dockernet_degraded",
            "1 while some names are set aside or the journal cannot be written",
            registry=self.registry,
        )
        degraded.set_function(lambda: 1.0 if health.degradations() else 0.0)

    def event_seen(self, action: str) -> None:
        self._events.labels(action).inc()

    def update_done(self, rcode: str) -> None:
        self._updates.labels(rcode).inc()

    def update_failed(self, code: str) -> None:
        self._failed.labels(code).inc()

    def pending(self, count: int) -> None:
        self._pending.set(count)

    def reconciled(self) -> None:
        self._last_reconcile = time.monotonic()
        self._reconciled_once = True

    def latency(self, seconds: float) -> None:
        self._latency.observe(seconds)

    def rejected(self, count: int) -> None:
        self._rejected.set(count)

    def blocked(self, count: int) -> None:
        self._blocked.set(count)

    def blocked_checked(self, kind: str) -> None:
        self._blocked_checks.labels(kind).inc()

    def journal_failed(self) -> None:
        self._journal_errors.inc()


def serve_metrics(listen: tuple[str, int], metrics: PrometheusMetrics, health: Health):
    """Serve ``/metrics`` and ``/healthz`` from a daemon thread; returns the server (``.shutdown()``)."""
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    from prometheus_client import make_wsgi_app

    metrics.watch_health(health)
    metrics_app = make_wsgi_app(metrics.registry)

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            problems = health.problems()
            degraded = health.degradations()
            status = "503 Service Unavailable" if problems else "200 OK"
            text = "; ".join(problems) if problems else ("degraded: " + "; ".join(degraded) if degraded else "ok")
            start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
            return [(text + "\n").encode()]
        if path == "/metrics":
            return metrics_app(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"try /metrics or /healthz\n"]

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):  # the watcher's log is for DNS and Docker, not for scrapes
            pass

    class Server(WSGIServer):
        address_family = socket.AF_INET6 if ":" in listen[0] else socket.AF_INET

    server = make_server(listen[0], listen[1], app, server_class=Server, handler_class=QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
