"""The Grafana dashboard in examples/ asks only for what a running watcher exports, and shows all of it."""

import json
import re

from prometheus_client.parser import text_string_to_metric_families

from tests.harness import REPO, free_port, wait_for
from tests.support import http_get

DASHBOARD = REPO / "examples" / "grafana" / "dockernet.json"
#: labels Prometheus itself attaches to every scraped series (the target's), never exported by the watcher
TARGET_LABELS = {"instance", "job"}
#: series the client library adds to every counter and histogram, nothing to draw
BOOKKEEPING = re.compile(r".*_created$")


def queries(dashboard: dict) -> list[tuple[str, str]]:
    """(PromQL, legend) of every panel target and template variable."""
    found = [
        (target["expr"], target.get("legendFormat", "")) for panel in dashboard["panels"] for target in panel["targets"]
    ]
    found += [
        (variable["query"]["query"], "") for variable in dashboard["templating"]["list"] if variable["type"] == "query"
    ]
    return found


def metrics_in(expr: str) -> set[str]:
    return set(re.findall(r"\bdockernet_[a-z0-9_]+", expr))


def labels_in(expr: str, legend: str) -> set[str]:
    """Labels a query matches on, groups by, reads with label_values, or shows in its legend."""
    labels = set()
    for selector in re.findall(r"\{([^}]*)\}", expr):
        labels |= set(re.findall(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)", selector))
    for grouping in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
        labels |= {name.strip() for name in grouping.split(",") if name.strip()}
    labels |= set(re.findall(r"label_values\(\s*\w+\s*,\s*(\w+)\s*\)", expr))
    labels |= set(re.findall(r"\{\{\s*(\w+)\s*\}\}", legend))
    return labels


def exported(text: str) -> dict[str, set[str]]:
    """Sample name -> the label names its series carry, from /metrics."""
    series: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            series.setdefault(sample.name, set()).update(sample.labels)
    return series


def test_parsing_the_dashboard_finds_what_it_asks_for():
    """The checks below are only as good as this reading of PromQL: pin it on known expressions."""
    expr = 'sum by (rcode, le) (rate(dockernet_updates_total{instance=~"$instance", x!="y"}[5m]))'
    assert metrics_in(expr) == {"dockernet_updates_total"}
    assert labels_in(expr, "{{ rcode }} on {{instance}}") == {"rcode", "le", "instance", "x"}
    assert labels_in("label_values(dockernet_healthy, instance)", "") == {"instance"}


def test_every_metric_and_label_the_dashboard_queries_is_exported(dockerd, named, containers, watchers, label):
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["panels"] and len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])

    port = free_port()
    watchers(extra=("--settle-time", "1", "--metrics-listen", f"127.0.0.1:{port}")).start()
    containers(hostname=label)
    assert wait_for(lambda: named.query(label))
    assert wait_for(lambda: "dockernet_healthy 1.0" in http_get(port, "/metrics")[1], 15)
    series = exported(http_get(port, "/metrics")[1])

    used_metrics = set()
    for expr, legend in queries(dashboard):
        names = metrics_in(expr)
        assert names, f"a query that reads no dockernet metric: {expr}"
        missing = names - series.keys()
        assert not missing, f"{expr} asks for {missing}, which the watcher does not export"
        carried = set().union(*(series[name] for name in names)) | TARGET_LABELS
        assert labels_in(expr, legend) <= carried, f"{expr} uses labels {labels_in(expr, legend) - carried}"
        used_metrics |= names

    drawn = {re.sub(r"_(total|bucket|sum|count)$", "", name) for name in used_metrics}
    families = {
        re.sub(r"_(total|bucket|sum|count)$", "", name)
        for name in series
        if name.startswith("dockernet_") and not BOOKKEEPING.match(name)
    }
    assert families <= drawn, f"exported but on no panel: {families - drawn}"
