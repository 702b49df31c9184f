"""Session-wide real components: one private dockerd, one named, one image.

Under CI (CI=true) a missing tool or a component that does not come up is a
failure, never a skip.
"""

import os
import re
import zlib
from pathlib import Path

import pytest

from tests.fleet import FleetDns, fleet_engine
from tests.harness import (
    PREFIX,
    PrivateDockerd,
    PrivateNamed,
    WatcherProcess,
    clean_stale_runs,
    delete_netns,
    missing_tools,
    need,
    remove_run_dir,
    started_containers,
)
from tests.kerberos import (
    CLOCKSKEW,
    HOST1,
    HOST2,
    KERBEROS_TOOLS,
    SHORT,
    KerberizedNamed,
    PrivateKdc,
    bed_policy,
    default_ccache_path,
    snapshot,
)
from tests.rootless import ROOTLESS_TOOLS, RootlessDockerd, RootlessPodman

IN_CI = os.environ.get("CI") == "true"
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    """Every test under tests/integration is marked ``integration`` (``pytest -m 'not integration'``: unit only)."""
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.integration)


def _unavailable(reason: str):
    if IN_CI:
        pytest.fail(f"integration prerequisites missing under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def run_dir():
    missing = missing_tools()
    if missing:
        _unavailable("needs " + ", ".join(missing))
    clean_stale_runs()
    name = f"{PREFIX}{os.getpid()}"
    base = Path("/tmp") / name
    base.mkdir(parents=True, exist_ok=True)
    yield base, name
    remove_run_dir(base, name)


@pytest.fixture(scope="session")
def dockerd(run_dir):
    base, netns = run_dir
    daemon = PrivateDockerd(base, netns)
    daemon.start()
    daemon.import_busybox()
    yield daemon
    daemon.remove_all()
    daemon.stop()


@pytest.fixture(scope="session")
def named(run_dir):
    base, _ = run_dir
    server = PrivateNamed(base)
    server.provision()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def named_no_axfr(run_dir):
    """A second named whose zone refuses transfers: the watcher must work from its journal."""
    base, _ = run_dir
    server = PrivateNamed(base, name="named-noaxfr", init_args=("--no-transfer",))
    server.provision()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def containers(dockerd):
    """Start containers for one test; all of them are removed afterwards."""
    with started_containers(dockerd) as start:
        yield start


@pytest.fixture
def pod_containers(podman):
    """Start containers for one test on the rootful Podman; all of them are removed afterwards."""
    with started_containers(podman) as start:
        yield start


@pytest.fixture
def owner(request):
    """An owner id per test, so one test's watcher never sweeps another test's records."""
    return re.sub(r"[^A-Za-z0-9-]", "-", request.node.name)[:50]


@pytest.fixture
def label(request):
    """A DNS label unique to this test, for container hostnames."""
    return "t" + format(zlib.crc32(request.node.nodeid.encode()), "08x")


@pytest.fixture
def watchers(dockerd, named, run_dir, owner):
    """Watcher processes; their files live in the run dir so a later run can find strays by pid file."""
    made = []
    workdir = run_dir[0] / "watchers" / owner
    workdir.mkdir(parents=True, exist_ok=True)

    def make(owner_id=owner, server=None, **kwargs):
        watcher = WatcherProcess(dockerd, server or named, workdir, owner_id, **kwargs)
        made.append(watcher)
        return watcher

    yield make
    for watcher in made:
        watcher.cleanup()


# --- the fleet: three engines and a primary + secondary, each in a namespace of its own ----------------


@pytest.fixture(scope="session")
def fleet_dns(run_dir):
    base, netns = run_dir
    servers = FleetDns(base, f"{netns}-dns")
    try:
        servers.start()
        yield servers
    finally:
        servers.stop()
        delete_netns(servers.netns)


@pytest.fixture(scope="session")
def fleet_engines(run_dir):
    base, netns = run_dir
    engines = []
    try:
        for index in (1, 2, 3):
            engines.append(fleet_engine(base, netns, index))
        yield engines
    finally:
        for engine in engines:
            engine.remove_all()
            engine.stop()
            delete_netns(engine.netns)


@pytest.fixture
def fleet_watchers(fleet_dns, run_dir, owner):
    """Watchers of the fleet, run inside the DNS namespace; ``server`` is primary (default) or secondary."""
    made = []
    workdir = run_dir[0] / "watchers" / owner
    workdir.mkdir(parents=True, exist_ok=True)

    def make(engine, owner_id, server="primary", extra=("--settle-time", "1")):
        named = fleet_dns.primary if server == "primary" else fleet_dns.secondary
        host_dir = workdir / engine.base.name  # one host's files: two hosts may share an owner id
        host_dir.mkdir(exist_ok=True)
        watcher = WatcherProcess(
            engine,
            named,
            host_dir,
            owner_id,
            key_file=fleet_dns.key_file,
            extra=extra,
            netns=fleet_dns.netns,
            server=named.address,
        )
        made.append(watcher)
        return watcher

    yield make
    for watcher in made:
        watcher.cleanup()


# --- rootful Podman's Docker-compatible API (#25), in a namespace of its own -----------------------------


@pytest.fixture(scope="session")
def podman(run_dir):
    from tests.harness import need
    from tests.podman import PrivatePodman

    need("podman")
    base, netns = run_dir
    engine = PrivatePodman(base / "podman", f"{netns}-podman")
    try:
        engine.start()
        engine.import_busybox()
        yield engine
    finally:
        engine.stop()
        delete_netns(engine.netns)


# --- rootless engines: an unprivileged user of the test's own runs Podman or Docker --------------------


def _rootless_engine(engine):
    for tool in ROOTLESS_TOOLS:
        need(tool)
    try:
        engine.start()
        engine.import_busybox()
        yield engine
    finally:
        if engine.proc is not None:
            engine.remove_all()
        engine.stop()
        delete_netns(engine.netns)


@pytest.fixture(scope="session")
def rootless_podman(run_dir):
    base, netns = run_dir
    yield from _rootless_engine(RootlessPodman(base / "rootless-podman", f"{netns}-rlpod"))


@pytest.fixture(scope="session")
def rootless_dockerd(run_dir):
    base, netns = run_dir
    need(RootlessDockerd.script, Path(RootlessDockerd.script).exists())
    yield from _rootless_engine(RootlessDockerd(base / "rootless-docker", f"{netns}-rldoc"))


# --- a Samba AD DC (#26: GSS-TSIG), in a namespace of its own --------------------------------------------


@pytest.fixture(scope="session")
def samba_dc(run_dir):
    """A provisioned, running Samba AD DC (realm AD.TEST, zone ad.test) with the reverse zones of the containers'
    subnets; about 5 s to provision and 1 s to start here (tests/samba.py)."""
    from tests.samba import SAMBA_TOOLS, SambaDc

    for tool in SAMBA_TOOLS:
        need(tool)
    base, netns = run_dir
    dc = SambaDc(base / "samba", f"{netns}-samba")
    try:
        dc.provision()
        dc.start()
        dc.create_reverse_zones()
        yield dc
    finally:
        dc.stop()
        delete_netns(dc.netns)


# --- Kerberos: a private MIT KDC and a named taking GSS-TSIG updates (tests/kerberos.py) ----------------------


@pytest.fixture(scope="session")
def default_ccache():
    """The default cache's path and state before the bed starts (test_default_cache_... compares after)."""
    need("klist")
    path = default_ccache_path()
    return path, snapshot(path)


@pytest.fixture(scope="session")
def kdc(run_dir, default_ccache):
    for tool in KERBEROS_TOOLS:
        need(tool)
    server = PrivateKdc(run_dir[0] / "krb", clockskew=CLOCKSKEW)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def keytabs(kdc):
    return {
        HOST1: kdc.add_principal(HOST1),
        HOST2: kdc.add_principal(HOST2),
        SHORT: kdc.add_principal(SHORT, max_life="30s"),
    }


@pytest.fixture(scope="session")
def named_krb(run_dir, kdc):
    server = KerberizedNamed(run_dir[0], kdc, bed_policy)
    try:
        server.start()
        yield server
    finally:
        server.stop()
