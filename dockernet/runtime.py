"""One DNS runtime from one frozen settings value: what ``watch`` and every ``dns`` command are built from.

The options the commands share (``params.dns_options``) arrive as one
``DnsSettings``; ``build`` turns it into the key, the nameserver, the
engine, the journal and the reconciler, in one place, so the commands
differ only in what they do with them. Only the commands that watch
(``watch``, ``dns sync``) build a ``Watcher`` on top (``build_watcher``).
Nothing here prints; the key file's permissions are reported through the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import dns.name

from dockernet.auth import Auth, KeyFile, Unsigned
from dockernet.errors import UsageError
from dockernet.publish.templates import check_all

if TYPE_CHECKING:  # imported by build() when it runs: the commands that need no DNS start without them
    from dockernet.ddns import DnsTarget, Nameserver
    from dockernet.engine.address import EngineAddress
    from dockernet.engine.interface import Engine
    from dockernet.engine.kind import EngineKind
    from dockernet.metrics import Health, NullMetrics
    from dockernet.publish.claims import RecordPolicy
    from dockernet.sync.journal import Journal
    from dockernet.sync.reconciler import Reconciler
    from dockernet.watch.watcher import Watcher, WatchOptions

log = logging.getLogger("dockernet")

#: ``--reverse-zone auto``: the zones the server serves for Docker's subnets
AUTO = "auto"


@dataclass(frozen=True)
class DnsSettings:
    """Where updates go, how they are signed, what is published, and whose records they are."""

    zone: dns.name.Name
    server: str = "127.0.0.1"
    #: HOST[:PORT] updates go to; None: the primary the zone's SOA names (primary.py)
    primary: str | None = None
    port: int = 53
    #: how updates are signed: a key file, Kerberos (GSS-TSIG) or not at all (``rfc2136/auth.py``)
    auth: Auth = KeyFile()
    ttl: int = 60
    max_ttl: int = 86400
    #: names one container may ask for (``claims.RecordPolicy.max_names``)
    max_names: int = 32
    #: reverse zones, or ``AUTO``
    reverse_zones: tuple = ()
    networks: tuple[str, ...] = ()
    #: ``--name-template`` as given (empty: the default); checked in ``__post_init__``
    name_templates: tuple[str, ...] = ()
    compose_names: bool = True
    publish_ports: bool = False
    #: "container", "host" (this host's address for containers that publish ports), None: ``address_for``
    address_mode: str | None = None
    #: None: the address of the interface holding the default route (``host_address_or_default``)
    host_address: str | None = None
    owner_id: str = "localhost"
    state_dir: str = "/var/lib/dockernet"
    #: "host", or "container": creates and replacements leave from the container's own namespace
    send_from: str = "host"
    #: seconds between renewals of this owner id's lease (owners.py)
    lease_interval: float = 60.0
    #: replace a lease another engine stopped renewing (--take-over-owner)
    take_over_owner: bool = False

    def __post_init__(self):
        if self.ttl > self.max_ttl:
            raise UsageError(f"--ttl {self.ttl} is above --max-ttl {self.max_ttl}")
        if self.host_address and self.address_mode == "container":
            raise UsageError("--host-address is used only with --address host")
        check_all(self.name_templates, self.zone)  # a template that gives no name: a usage error now, not per event

    @property
    def templates(self):
        return check_all(self.name_templates, self.zone)

    def host_address_or_default(self, netns: str | None = None) -> str:
        """The address ``--address host`` publishes: --host-address, else the default route's interface's."""
        from dockernet.bridge import default_route_address  # pyroute2 loads only for --address host

        address = self.host_address or default_route_address(netns)
        if not address:
            raise UsageError(
                "--address host needs this host's address, and there is no default route to take it from",
                hint="pass --host-address",
            )
        return address

    @property
    def auto_reverse(self) -> bool:
        return AUTO in self.reverse_zones

    @property
    def named_reverse_zones(self) -> tuple[dns.name.Name, ...]:
        return tuple(zone for zone in self.reverse_zones if zone != AUTO)


@dataclass(frozen=True)
class Runtime:
    """What every DNS command works with, built once from ``DnsSettings`` (``build``)."""

    settings: DnsSettings
    nameserver: Nameserver
    engine: Engine
    journal: Journal
    reconciler: Reconciler
    health: Health
    metrics: NullMetrics

    def resolve_reverse_zones(self) -> None:
        """``--reverse-zone auto``: ask the server now (a watcher asks again on every reconnect)."""
        if self.settings.auto_reverse:
            from dockernet.rfc2136 import reversezones  # with the rest of the DNS side: only when asked

            self.reconciler.set_reverse_zones(reversezones.for_subnets(self.nameserver, self.engine.subnets()))


def build(
    settings: DnsSettings,
    docker_host: EngineAddress | str | None,
    *,
    read_only: bool = False,
    metrics: NullMetrics | None = None,
    health: Health | None = None,
) -> Runtime:
    """Everything a command that talks to the DNS server needs, from ``settings``.

    ``read_only`` commands (ls, check, dry runs) read the journal if there is
    one and create nothing.
    """
    # loaded when building: every command's option parsing imports this module for DnsSettings
    from dockernet.ddns import Nameserver
    from dockernet.engine.dockerapi import DockerEngine
    from dockernet.metrics import Health, NullMetrics
    from dockernet.sync.reconciler import Reconciler

    target = _target(settings)
    journal = _open_journal(settings, writable=not read_only)
    metrics = metrics or NullMetrics()
    health = health or Health()
    engine = DockerEngine(docker_host)
    policy = _policy(settings)
    nameserver = Nameserver(target, namespace_of=engine.namespace_of)
    reconciler = Reconciler(policy, nameserver, journal=journal, metrics=metrics, health=health)
    return Runtime(settings, nameserver, engine, journal, reconciler, health, metrics)


def stated_address_mode(settings: DnsSettings) -> str | None:
    """--address as given, or host when --host-address is; None when neither is (the engine's kind decides)."""
    return settings.address_mode or ("host" if settings.host_address else None)


def address_for(settings: DnsSettings, kind: EngineKind) -> str | None:
    """The address mode for an engine of ``kind`` when --address was not given (None: as given, or implied by
    --host-address): host for a rootless engine, whose containers' addresses reach no one. Asked at every
    connect, so an engine that was not up at start, or another one on the socket since, is judged as it is."""
    given = stated_address_mode(settings)
    if given == "container" and kind.rootless:
        log.warning(
            "--address container with %s: its containers' addresses are reachable only inside the engine's own "
            "network namespace, not from this host or the LAN (--address host publishes this host's)",
            kind,
        )
    if given is not None:
        return None
    if kind.rootless:
        log.info("%s is rootless: publishing this host's address for containers that publish ports", kind)
        return "host"
    return "container"


def _target(settings: DnsSettings) -> DnsTarget:
    """Where updates go (the zone's primary, when the SOA names one) and the key that signs them."""
    # loaded when building: every command's option parsing imports this module for DnsSettings
    from dockernet.ddns import DnsTarget, resolve_server
    from dockernet.rfc2136.primary import find_primary

    key = settings.auth.load()
    exposure = settings.auth.exposure()
    if exposure:
        log.warning("%s", exposure)
    given = DnsTarget(
        resolve_server(settings.server),
        settings.port,
        settings.zone,
        key,
        settings.owner_id,
        reverse_zones=settings.named_reverse_zones,
        send_from=settings.send_from,
    )
    target = find_primary(given, settings.primary)
    if target.asked:
        log.info(
            "Updates of %s go to its primary %s (%s), named in the SOA %s answered",
            settings.zone,
            target.mname,
            target.where,
            target.asked,
        )
    return target


def _open_journal(settings: DnsSettings, writable: bool) -> Journal:
    # loaded when building: every command's option parsing imports this module for DnsSettings
    from dockernet.sync.journal import Journal

    journal = Journal(settings.state_dir, settings.owner_id)
    journal.open(writable=writable)
    if journal.error:  # a read-only state directory: the updates go on, crash recovery rests on zone transfer
        log.warning(
            "Cannot write the journal %s (%s): running on; until it can be written (the watcher tries "
            "again every second), records of containers that stop while this watcher is down are found "
            "only by zone transfer",
            journal.path,
            journal.error,
        )
    return journal


def _policy(settings: DnsSettings) -> RecordPolicy:
    # loaded when building: every command's option parsing imports this module for DnsSettings
    from dockernet.publish.claims import RecordPolicy

    mode = stated_address_mode(settings) or "container"  # until the engine says otherwise (address_for)
    return RecordPolicy(
        zone=settings.zone,
        ttl=settings.ttl,
        reverse_zones=settings.named_reverse_zones,
        networks=frozenset(settings.networks),
        max_ttl=settings.max_ttl,
        max_names=settings.max_names,
        templates=settings.templates,
        compose_names=settings.compose_names,
        publish_ports=settings.publish_ports,
        address=mode,
        host_address=settings.host_address_or_default() if mode == "host" else "",
    )


def watch_options(settings: DnsSettings, **given: Any) -> WatchOptions:
    """The watch loop's options for ``settings``, checked before anything is built or asked.

    ``given``: ``WatchOptions`` fields (--docker-pid, --resync-interval, --adopt-owner, ...).
    """
    # loaded when building: every command's option parsing imports this module for DnsSettings
    from dockernet.watch.watcher import WatchOptions

    if given.get("adopt_owner") == settings.owner_id:
        raise UsageError(
            f"--adopt-owner names this watcher's own owner id '{settings.owner_id}'",
            hint="give the old owner id, the one the records carry now",
        )
    reload_key = None if isinstance(settings.auth, Unsigned) else settings.auth.load
    return WatchOptions(reload_key=reload_key, auto_reverse=settings.auto_reverse, **given)


def build_watcher(runtime: Runtime, options: WatchOptions) -> Watcher:
    """The watch loop (``watch``, ``dns sync``) over ``runtime``, holding this owner id's lease."""
    # loaded when building: every command's option parsing imports this module for DnsSettings
    from dockernet.sync.leases import LeaseKeeper
    from dockernet.watch.watcher import Watcher

    settings = runtime.settings
    reconciler = runtime.reconciler

    def settle_address(kind: EngineKind) -> None:
        mode = address_for(settings, kind)
        if mode is not None:
            host = replace(settings, address_mode=mode).host_address_or_default() if mode == "host" else ""
            reconciler.set_address(mode, host)

    options = replace(options, settle_address=settle_address)
    lease = LeaseKeeper(
        runtime.nameserver,
        settings.owner_id,
        runtime.engine.identity,
        settings.lease_interval,
        settings.take_over_owner,
    )
    return Watcher(
        runtime.engine,
        runtime.reconciler,
        options,
        nameserver=runtime.nameserver,
        ttl=settings.ttl,
        journal=runtime.journal,
        health=runtime.health,
        metrics=runtime.metrics,
        lease=lease,
    )
