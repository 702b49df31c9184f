"""``bridge setup`` and ``bridge teardown`` as plans: what changes on the link and in which files.

``plan_setup`` and ``plan_teardown`` read the files and take the kernel's
observation as a value, and return a ``BridgePlan`` (netlink steps, file
changes, warnings, notes) or raise the refusal that applies. The CLI prints
a plan and stops on ``--dry-run``; ``host.bridgeapply`` carries it out.

Refusals, in the order they are checked (``--force`` lifts the ones marked):
malformed daemon.json; a setting that would end up both as a flag and in
daemon.json; the subnet overlapping another interface's address or route
(force); a non-bridge link holding the name (force); ports on the bridge
(force); Docker running while something would change.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from pathlib import Path

from dockernet.bridge import (
    BridgeSpec,
    LinkState,
    Observation,
    Step,
    find_overlaps,
    plan_bridge,
    plan_link_teardown,
)
from dockernet.errors import BridgeBusy, ConfigError, UsageError
from dockernet.host.bridgeargs import parses, resolver_address
from dockernet.host.daemonjson import DEFAULT_BRIDGE, parse_daemon_json, unmerge_daemon_json
from dockernet.host.dockerconf import IPV6_KEYS, place_settings, pool_overlaps
from dockernet.host.dockeropts import LINK_KEYS, docker_opts, flags_in, rewrite_docker_opts
from dockernet.host.dockerunit import UnitFacts, find_conflicts, read_unit
from dockernet.host.filechange import FileChange, read_text
from dockernet.host.ifupdown import STANZA_HEADER, render_interfaces

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
DEFAULT_UNIT_DIRS = (
    Path("/etc/systemd/system"),
    Path("/run/systemd/system"),
    Path("/lib/systemd/system"),
    Path("/usr/lib/systemd/system"),
)


@dataclass(frozen=True)
class FilePaths:
    config: str  # daemon-json | docker-opts | none
    daemon_json: Path
    defaults_file: Path
    interfaces_file: Path | None
    unit_dirs: tuple[Path, ...] = DEFAULT_UNIT_DIRS


@dataclass(frozen=True)
class BridgePlan:
    steps: list[Step]
    files: list[FileChange]
    warnings: list[str] = field(default_factory=list)
    #: what was decided and why (where the settings go), printed with the plan
    notes: list[str] = field(default_factory=list)

    @property
    def nothing_to_do(self) -> bool:
        return not self.steps and not any(change.changed for change in self.files)


def _conflict_check(paths: FilePaths, daemon_after: str | None, defaults_after: str | None, unit: UnitFacts) -> None:
    """The last check before anything is written: no setting may reach dockerd twice."""
    settings = parse_daemon_json(daemon_after, str(paths.daemon_json)) if daemon_after is not None else {}
    opts_read = unit.reads_docker_opts or not unit.found
    conflicts = find_conflicts(
        settings, flags_in(docker_opts(defaults_after, str(paths.defaults_file))), unit, opts_read
    )
    if conflicts:
        raise ConfigError(
            "dockerd refuses to start when a setting is both a flag and in daemon.json: " + "; ".join(conflicts),
            hint="remove the flag (or the key) by hand, or choose the other file with --config",
        )


def choose_place(requested: str, unit: UnitFacts, opts_flags: dict[str, list[str]]) -> tuple[str, str]:
    """Which file gets the bridge settings, and why: ``--config auto`` keeps them where Docker reads them today."""
    if requested != "auto":
        return requested, f"--config {requested}"
    opts_read = unit.reads_docker_opts or not unit.found
    if opts_read and ("bridge" in opts_flags or "bip" in opts_flags):
        reader = f"the docker unit ({unit.where or 'docker.service'})" if unit.found else "Docker's init script"
        return "docker-opts", f"DOCKER_OPTS, which {reader} reads and which already sets the bridge"
    return "daemon-json", "daemon.json" + ("" if opts_read else " (nothing here reads DOCKER_OPTS)")


def _refusals(spec: BridgeSpec, unit: UnitFacts, settings: dict, opts_words: list[str], opts_read: bool) -> None:
    """What no file dockernet writes can fix: flags on the unit's ExecStart, default pools on the subnet."""
    if unit.exec_flags:
        flags = ", ".join(sorted(unit.exec_flags))
        raise ConfigError(
            f"the ExecStart line of {unit.where} gives dockerd {flags} as flags, which dockerd would "
            "also get from dockernet's settings",
            hint=f"remove them from {unit.where} (dockernet does not edit unit files), then systemctl daemon-reload",
        )
    overlaps = pool_overlaps(settings, opts_words if opts_read else [], spec.network)
    if overlaps:
        raise ConfigError(
            "; ".join(overlaps) + ": Docker would give user-defined networks addresses of the bridge",
            hint="remove that pool (or choose another --cidr)",
        )


def keep_resolvers(
    spec: BridgeSpec, place: str, sources: list[tuple[str, object]], old_networks: list[IPNetwork]
) -> tuple[BridgeSpec, list[str]]:
    """The resolvers containers get when ``--dns`` is not given, and a note saying so.

    A resolver already in Docker's files (``sources``: where, the list found
    there; the chosen file first) is the user's choice and is kept, unless
    it is an address on the bridge's old subnet (``old_networks``) that the
    new one leaves (the gateway an earlier ``setup`` wrote): it would answer
    nothing. With none left, the default stays: the gateway, where the seed
    ran BIND.
    """
    if not spec.dns_defaulted or place == "none":
        return spec, []
    for where, values in sources:
        if not isinstance(values, list):
            continue
        found = [resolver_address(str(value)) for value in values]
        kept = tuple(
            address for address in found if address is not None and not _left_behind(address, old_networks, spec)
        )
        if kept == spec.dns:
            return spec, []  # the gateway again (an earlier setup's default): nothing to say but the warning
        if kept:
            return replace(spec, dns=kept, dns_defaulted=False), [
                f"containers keep their resolvers from {where}: {', '.join(kept)} (--dns replaces them)"
            ]
    return spec, []


def _left_behind(address: str, old_networks: list[IPNetwork], spec: BridgeSpec) -> bool:
    ip = ipaddress.ip_address(address)
    return ip not in spec.network and any(ip in network for network in old_networks if network.version == ip.version)


def gateway_dns_warning(spec: BridgeSpec, dns_given: bool) -> list[str]:
    """Containers sent to the gateway for DNS lose name resolution when nothing answers there: say so."""
    if dns_given or str(spec.gateway) not in spec.dns:
        return []
    return [
        f"containers get {spec.gateway} (the gateway) as their resolver and nothing checks that DNS answers "
        f"there: give --dns ADDR (a resolver they can reach), or make named listen on {spec.gateway} "
        f"(listen-on {{ {spec.gateway}; }};)"
    ]


@dataclass(frozen=True)
class _DockerFiles:
    """What tells dockerd its settings today, read once, before any change: the unit, daemon.json, DOCKER_OPTS."""

    unit: UnitFacts
    daemon_json: str | None
    defaults: str | None
    settings: dict
    opts_words: list[str]
    opts_flags: dict[str, list[str]]

    @property
    def opts_read(self) -> bool:
        """Whether dockerd gets DOCKER_OPTS: its unit reads them, or there is no unit (an init script does)."""
        return self.unit.reads_docker_opts or not self.unit.found


def _read_docker_files(paths: FilePaths) -> _DockerFiles:
    """Docker's files as they are; a malformed daemon.json or DOCKER_OPTS is refused here, whatever --config."""
    unit = read_unit(list(paths.unit_dirs))
    daemon_json = read_text(paths.daemon_json)
    defaults = read_text(paths.defaults_file)
    settings = parse_daemon_json(daemon_json, str(paths.daemon_json))
    opts_words = docker_opts(defaults, str(paths.defaults_file))  # so is a DOCKER_OPTS the shell cannot read
    return _DockerFiles(unit, daemon_json, defaults, settings, opts_words, flags_in(opts_words))


def _resolver_sources(docker: _DockerFiles, place: str) -> list[tuple[str, object]]:
    """Where Docker's files name resolvers, the chosen file first; DOCKER_OPTS only where dockerd would read it."""
    sources: list[tuple[str, object]] = [("daemon.json", docker.settings.get("dns"))]
    if docker.opts_read or place == "docker-opts":
        sources.insert(0 if place == "docker-opts" else 1, ("DOCKER_OPTS", docker.opts_flags.get("dns")))
    return sources


def _old_networks(old_bridge: LinkState | None, docker: _DockerFiles) -> list[IPNetwork]:
    """The subnets the bridge had before (on the link, and as bip in either file): resolvers there are left behind."""
    old_networks: list[IPNetwork] = [address.network for address in (old_bridge.addresses if old_bridge else ())]
    old_networks += [
        ipaddress.ip_interface(bip).network
        for bip in [docker.settings.get("bip"), *docker.opts_flags.get("bip", [])]
        if isinstance(bip, str) and parses(ipaddress.IPv4Interface, bip)
    ]
    return old_networks


def _settings_changes(spec: BridgeSpec, place: str, paths: FilePaths, docker: _DockerFiles) -> list[FileChange]:
    """daemon.json and DOCKER_OPTS with the bridge's settings in ``place``.

    Refused before, when no file dockernet writes can fix it, and after, when a setting would reach dockerd twice.
    """
    _refusals(spec, docker.unit, docker.settings, docker.opts_words, docker.opts_read)
    daemon_after, defaults_after = place_settings(
        docker.daemon_json,
        docker.defaults,
        spec,
        place,
        docker.opts_read,
        str(paths.daemon_json),
        str(paths.defaults_file),
    )
    changes = [
        change
        for change in (
            FileChange(paths.daemon_json, docker.daemon_json, daemon_after),
            FileChange(paths.defaults_file, docker.defaults, defaults_after),
        )
        if change.changed
    ]
    _conflict_check(paths, daemon_after, defaults_after, docker.unit)
    return changes


def _file_changes(
    spec: BridgeSpec,
    cidr_argument: str,
    paths: FilePaths,
    old_bridge: LinkState | None = None,
) -> tuple[list[FileChange], list[str], list[str]]:
    """The files' side of ``bridge setup``: each file's change, the warnings, and notes on what was decided."""
    docker = _read_docker_files(paths)
    place, why = choose_place(paths.config, docker.unit, docker.opts_flags)
    dns_given = not spec.dns_defaulted
    spec, dns_notes = keep_resolvers(spec, place, _resolver_sources(docker, place), _old_networks(old_bridge, docker))
    changes: list[FileChange] = []
    warnings: list[str] = []
    notes: list[str] = []
    if place != "none":
        changes += _settings_changes(spec, place, paths, docker)
        notes.append(f"Docker's bridge settings go to {why}")
        notes += dns_notes
        warnings += gateway_dns_warning(spec, dns_given)
    if place == "docker-opts" and docker.unit.found and not docker.unit.reads_docker_opts:
        warnings.append(
            f"the docker unit ({docker.unit.where or 'docker.service'}) does not read DOCKER_OPTS: "
            "this setting has no effect under systemd; use --config daemon-json"
        )
    if paths.interfaces_file is not None:
        before = read_text(paths.interfaces_file)
        changes.append(FileChange(paths.interfaces_file, before, render_interfaces(spec, cidr_argument)))
    return changes, warnings, notes


def plan_setup(
    spec: BridgeSpec,
    cidr_argument: str,
    paths: FilePaths,
    observation: Observation,
    force: bool = False,
    docker_restarts: bool = False,
) -> BridgePlan:
    """The plan for ``bridge setup``; ``docker_restarts``: Docker is stopped first (its containers leave the bridge)."""
    files, warnings, notes = _file_changes(spec, cidr_argument, paths, observation.bridge)
    overlaps = find_overlaps(spec.network, observation.others)
    if overlaps:
        if not force:
            raise UsageError("; ".join(overlaps), hint="choose another subnet, or use --force if you are sure")
        warnings.append("going ahead although " + "; ".join(overlaps))
    bridge = observation.bridge
    steps = plan_bridge(bridge, spec)
    if steps and bridge is not None:
        _check_replaceable(bridge, force, warnings, docker_restarts)
    return BridgePlan(steps, files, warnings, notes)


def _check_replaceable(bridge: LinkState, force: bool, warnings: list[str], docker_restarts: bool = False) -> None:
    if bridge.kind != "bridge" and not force:
        raise BridgeBusy(
            f"{bridge.name} exists and is a {bridge.kind or 'plain'} link, not a bridge",
            hint="remove it, or use --force to replace it",
        )
    if bridge.ports:
        ports = ", ".join(bridge.ports)
        if docker_restarts:
            warnings.append(
                f"{bridge.name}'s ports ({ports}) go: Docker's containers stop with it, and those with a "
                "restart policy come back on the new bridge"
            )
        elif not force:
            raise BridgeBusy(
                f"{bridge.name} has ports attached ({ports})",
                hint="stop the containers using it, or use --force to rebuild it anyway",
            )
        else:
            warnings.append(f"rebuilding {bridge.name} detaches {ports}")


def plan_teardown(name: str, paths: FilePaths, observation: Observation, force: bool = False) -> BridgePlan:
    bridge = observation.bridge
    network = network6 = None
    if bridge is not None and bridge.addresses:
        network = bridge.addresses[0].network
    if bridge is not None and bridge.addresses6:
        network6 = bridge.addresses6[0].network
    warnings: list[str] = []
    if bridge is not None and bridge.ports:
        _check_replaceable(bridge, force, warnings)
    files = []
    if paths.config in ("daemon-json", "auto"):
        before = read_text(paths.daemon_json)
        after = unmerge_daemon_json(before, network, name, str(paths.daemon_json), network6)
        files.append(FileChange(paths.daemon_json, before, after))
    opts = flags_in(docker_opts(read_text(paths.defaults_file), str(paths.defaults_file)))
    bips = [ipaddress.ip_interface(bip) for bip in opts.get("bip", []) if parses(ipaddress.ip_interface, bip)]
    ours = name in opts.get("bridge", []) or (
        name == DEFAULT_BRIDGE and network is not None and any(bip.network == network for bip in bips)
    )
    if paths.config == "docker-opts" or (paths.config == "auto" and ours):
        before = read_text(paths.defaults_file)
        ours6 = network6 is not None and opts.get("fixed-cidr-v6") == [str(network6)]
        drop = LINK_KEYS | (IPV6_KEYS if ours6 else set())
        if before is not None:
            files.append(
                FileChange(
                    paths.defaults_file,
                    before,
                    rewrite_docker_opts(before, None, frozenset(drop), str(paths.defaults_file)),
                )
            )
    if paths.interfaces_file is not None:
        before = read_text(paths.interfaces_file)
        if before is not None and before.startswith(STANZA_HEADER):
            files.append(FileChange(paths.interfaces_file, before, None))
        elif before is not None:
            warnings.append(f"{paths.interfaces_file} was not written by dockernet; left as it is")
    return BridgePlan(plan_link_teardown(bridge, name), files, warnings)
