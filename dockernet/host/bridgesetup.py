"""``bridge setup`` and ``bridge teardown`` as plans: what changes on the link and in which files.

``plan_setup`` and ``plan_teardown`` read the files and take the kernel's
observation as a value, and return a ``BridgePlan`` (netlink steps, file
changes, warnings) or raise the refusal that applies. ``execute`` carries a
plan out. The CLI prints a plan and stops on ``--dry-run``.

Refusals, in the order they are checked (``--force`` lifts the ones marked):
malformed daemon.json; a setting that would end up both as a flag and in
daemon.json; the subnet overlapping another interface's address or route
(force); a non-bridge link holding the name (force); ports on the bridge
(force); Docker running while something would change.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING
from pathlib import Path

from dockernet.bridge import (
    BridgeSpec, LinkState, Observation, Step, apply_steps, find_overlaps, plan_bridge, plan_restore, resolver_address,
)
from dockernet.bridge import plan_teardown as plan_link_teardown
from dockernet.host.dockerconf import (
    DEFAULT_BRIDGE, IPV6_KEYS, LINK_KEYS, STANZA_HEADER, ConfigError, FileChange, UnitFacts, docker_opts,
    find_conflicts, flags_in, parse_daemon_json, place_settings, pool_overlaps, read_text, render_interfaces,
    rewrite_docker_opts, unmerge_daemon_json, write_atomic,
)
from dockernet.errors import BridgeBusy, DockerRunning, DockernetError, RolledBack, UsageError

if TYPE_CHECKING:
    from dockernet.engine.address import EngineAddress

DEFAULT_UNIT_DIRS = (Path("/etc/systemd/system"), Path("/run/systemd/system"), Path("/lib/systemd/system"),
                     Path("/usr/lib/systemd/system"))


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
    conflicts = find_conflicts(settings, flags_in(docker_opts(defaults_after, str(paths.defaults_file))), unit,
                               opts_read)
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
        raise ConfigError(f"the ExecStart line of {unit.where} gives dockerd {flags} as flags, which dockerd would "
                          "also get from dockernet's settings",
                          hint=f"remove them from {unit.where} (dockernet does not edit unit files), "
                               "then systemctl daemon-reload")
    overlaps = pool_overlaps(settings, opts_words if opts_read else [], spec.network)
    if overlaps:
        raise ConfigError("; ".join(overlaps) + ": Docker would give user-defined networks addresses of the bridge",
                          hint="remove that pool (or choose another --cidr)")


def keep_resolvers(spec: BridgeSpec, place: str, sources: list[tuple[str, object]],
                   old_networks: list[ipaddress.IPv4Network]) -> tuple[BridgeSpec, list[str]]:
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
        kept = tuple(address for address in found
                     if address is not None and not _left_behind(address, old_networks, spec))
        if kept == spec.dns:
            return spec, []  # the gateway again (an earlier setup's default): nothing to say but the warning
        if kept:
            return replace(spec, dns=kept, dns_defaulted=False), [
                f"containers keep their resolvers from {where}: {', '.join(kept)} (--dns replaces them)"]
    return spec, []


def _left_behind(address: str, old_networks: list[ipaddress.IPv4Network], spec: BridgeSpec) -> bool:
    ip = ipaddress.ip_address(address)
    return ip not in spec.network and any(ip in network for network in old_networks if network.version == ip.version)


def gateway_dns_warning(spec: BridgeSpec, dns_given: bool) -> list[str]:
    """Containers sent to the gateway for DNS lose name resolution when nothing answers there: say so."""
    if dns_given or str(spec.gateway) not in spec.dns:
        return []
    return [f"containers get {spec.gateway} (the gateway) as their resolver and nothing checks that DNS answers "
            f"there: give --dns ADDR (a resolver they can reach), or make named listen on {spec.gateway} "
            f"(listen-on {{ {spec.gateway}; }};)"]


def _file_changes(spec: BridgeSpec, cidr_argument: str, paths: FilePaths, old_bridge: LinkState | None = None,
                  ) -> tuple[list[FileChange], list[str], list[str]]:
    from dockernet.host.dockerconf import read_unit

    unit = read_unit(list(paths.unit_dirs))
    warnings, notes = [], []
    daemon_before = read_text(paths.daemon_json)
    defaults_before = read_text(paths.defaults_file)
    settings = parse_daemon_json(daemon_before, str(paths.daemon_json))  # a malformed file is refused, whatever --config
    opts_words = docker_opts(defaults_before, str(paths.defaults_file))  # so is a DOCKER_OPTS the shell cannot read
    opts_read = unit.reads_docker_opts or not unit.found
    opts_flags = flags_in(opts_words)
    place, why = choose_place(paths.config, unit, opts_flags)
    dns_given = not spec.dns_defaulted
    sources = [("daemon.json", settings.get("dns"))]
    if opts_read or place == "docker-opts":
        sources.insert(0 if place == "docker-opts" else 1, ("DOCKER_OPTS", opts_flags.get("dns")))
    old_networks = [address.network for address in (old_bridge.addresses if old_bridge else ())]
    old_networks += [ipaddress.ip_interface(bip).network for bip in [settings.get("bip"), *opts_flags.get("bip", [])]
                     if isinstance(bip, str) and _parses(ipaddress.IPv4Interface, bip)]
    spec, dns_notes = keep_resolvers(spec, place, sources, old_networks)
    changes = []
    if place != "none":
        _refusals(spec, unit, settings, opts_words, opts_read)
        daemon_after, defaults_after = place_settings(daemon_before, defaults_before, spec, place, opts_read,
                                                      str(paths.daemon_json), str(paths.defaults_file))
        changes += [change for change in (FileChange(paths.daemon_json, daemon_before, daemon_after),
                                          FileChange(paths.defaults_file, defaults_before, defaults_after))
                    if change.changed]
        _conflict_check(paths, daemon_after, defaults_after, unit)
        notes.append(f"Docker's bridge settings go to {why}")
        notes += dns_notes
        warnings += gateway_dns_warning(spec, dns_given)
    if place == "docker-opts" and unit.found and not unit.reads_docker_opts:
        warnings.append(f"the docker unit ({unit.where or 'docker.service'}) does not read DOCKER_OPTS: "
                        "this setting has no effect under systemd; use --config daemon-json")
    if paths.interfaces_file is not None:
        before = read_text(paths.interfaces_file)
        changes.append(FileChange(paths.interfaces_file, before, render_interfaces(spec, cidr_argument)))
    return changes, warnings, notes


def plan_setup(spec: BridgeSpec, cidr_argument: str, paths: FilePaths, observation: Observation,
               force: bool = False, docker_restarts: bool = False) -> BridgePlan:
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
        raise BridgeBusy(f"{bridge.name} exists and is a {bridge.kind or 'plain'} link, not a bridge",
                         hint="remove it, or use --force to replace it")
    if bridge.ports:
        ports = ", ".join(bridge.ports)
        if docker_restarts:
            warnings.append(f"{bridge.name}'s ports ({ports}) go: Docker's containers stop with it, and those with a "
                            "restart policy come back on the new bridge")
        elif not force:
            raise BridgeBusy(f"{bridge.name} has ports attached ({ports})",
                             hint="stop the containers using it, or use --force to rebuild it anyway")
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
    bips = [ipaddress.ip_interface(bip) for bip in opts.get("bip", []) if _parses(ipaddress.ip_interface, bip)]
    ours = name in opts.get("bridge", []) or (name == DEFAULT_BRIDGE and network is not None
                                             and any(bip.network == network for bip in bips))
    if paths.config == "docker-opts" or (paths.config == "auto" and ours):
        before = read_text(paths.defaults_file)
        drop = LINK_KEYS | (IPV6_KEYS if network6 is not None and opts.get("fixed-cidr-v6") == [str(network6)] else set())
        if before is not None:
            files.append(FileChange(paths.defaults_file, before,
                                    rewrite_docker_opts(before, None, frozenset(drop), str(paths.defaults_file))))
    if paths.interfaces_file is not None:
        before = read_text(paths.interfaces_file)
        if before is not None and before.startswith(STANZA_HEADER):
            files.append(FileChange(paths.interfaces_file, before, None))
        elif before is not None:
            warnings.append(f"{paths.interfaces_file} was not written by dockernet; left as it is")
    return BridgePlan(plan_link_teardown(bridge, name), files, warnings)


def execute(plan: BridgePlan, ipr, before: LinkState | None, name: str) -> None:
    """Carry out a plan, all or nothing: the link first, then the files (each written atomically).

    A failure at any step puts back the link as ``before`` was and every
    file already written, then raises ``RolledBack`` saying what failed and
    that everything is as it was (or what could not be put back).
    """
    written: list[FileChange] = []
    link_changed = False
    try:
        for step in plan.steps:
            apply_steps(ipr, [step])
            link_changed = True
        for change in plan.files:
            if change.changed:
                write_atomic(change)
                written.append(change)
    except DockernetError as exc:
        leftovers = _put_back(ipr, before, name, written, link_changed)
        if leftovers:
            raise RolledBack(f"{exc}; putting back what was already changed failed too: {'; '.join(leftovers)}",
                             hint="check the link and those files by hand") from None
        undone = ([f"the link {name}"] if link_changed else []) + [str(change.path) for change in written]
        raise RolledBack(f"{exc}; nothing is changed" + (f" ({', '.join(undone)} put back as they were)"
                                                         if undone else "")) from None


def _put_back(ipr, before: LinkState | None, name: str, written: list[FileChange], link_changed: bool) -> list[str]:
    """Undo a partial ``execute``: the files written, and the link when a step of ours changed it (a link
    someone else changed before our first step is theirs); returns what could not be undone."""
    failures = []
    for change in reversed(written):
        try:
            write_atomic(FileChange(change.path, change.after, change.before))
        except DockernetError as exc:
            failures.append(str(exc))
    if link_changed:
        try:
            apply_steps(ipr, plan_restore(before, name, bool(ipr.link_lookup(ifname=name))))
        except DockernetError as exc:
            failures.append(str(exc))
    return failures


# --- is Docker running? ----------------------------------------------------------------


def docker_running(docker_pid: str | None, docker_host: EngineAddress | str | None) -> str | None:
    """How we know Docker runs (a sentence), or None when it does not."""
    from dockernet.errors import DockerUnreachable
    from dockernet.pidfile import process_alive, read_pid

    if docker_pid:
        pid = read_pid(docker_pid)
        if pid and process_alive(pid):
            return f"process {pid} from {docker_pid} is alive"
    from dockernet.engine.dockerapi import DockerEngine

    engine = DockerEngine(docker_host, timeout=3)
    try:
        engine.ping()
    except DockerUnreachable:
        return None
    finally:
        engine.close()
    return f"the engine at {engine.where} answers"


def refuse_if_docker_runs(docker_pid: str | None, docker_host: EngineAddress | str | None) -> None:
    reason = docker_running(docker_pid, docker_host)
    if reason:
        raise DockerRunning(f"Docker is running ({reason}); rebuilding its bridge now would cut its containers off",
                            hint="stop it first (systemctl stop docker.socket docker, or: service docker stop), or "
                                 "let dockernet do it with --restart-docker")


def bridge_summary(bridge: LinkState | None) -> dict:
    if bridge is None:
        return {"exists": False}
    return {
        "exists": True, "name": bridge.name, "index": bridge.index, "kind": bridge.kind, "mtu": bridge.mtu,
        "up": bridge.up, "addresses": [str(a) for a in bridge.addresses],
        "addresses6": [str(a) for a in bridge.addresses6],
        "stp": bool(bridge.stp) if bridge.stp is not None else None,
        "forward_delay_s": bridge.forward_delay / 100 if bridge.forward_delay is not None else None,
    }


def config_agreement(bridge: LinkState | None, paths: FilePaths, name: str = DEFAULT_BRIDGE) -> list[str]:
    """Sentences on whether Docker's files point at this bridge as it is."""
    try:
        settings = parse_daemon_json(read_text(paths.daemon_json), str(paths.daemon_json))
    except ConfigError as exc:
        return [str(exc)]
    opts = flags_in(docker_opts(read_text(paths.defaults_file), str(paths.defaults_file)))  # unreadable: refused
    sources = [("daemon.json", settings.get("bridge"), settings.get("bip"), settings.get("dns") or []),
               ("DOCKER_OPTS", (opts.get("bridge") or [None])[-1], (opts.get("bip") or [None])[-1],
                opts.get("dns") or [])]
    chosen = next((source for source in sources if source[1] or source[2]), None)
    if chosen is None:
        return ["neither daemon.json nor DOCKER_OPTS names a bridge or its address: Docker makes its own docker0 "
                "on a subnet of its choosing"]
    source, configured, bip, dns_servers = chosen
    configured = configured or DEFAULT_BRIDGE
    findings = []
    if configured != name:
        findings.append(f"{source} names bridge {configured}, not {name}")
    elif bridge is None:
        made = "Docker makes it itself" if configured == DEFAULT_BRIDGE else "Docker will not start without it"
        findings.append(f"{source} names bridge {configured}, which does not exist ({made})")
    elif bip and bip not in {str(address) for address in bridge.addresses}:
        have = ", ".join(str(address) for address in bridge.addresses) or "no address"
        findings.append(f"{source} gives {name} the address {bip}, but the link has {have}")
    else:
        findings.append(f"{source} points Docker at {name}")
        servers = [ipaddress.ip_address(s) for s in dns_servers if _parses(ipaddress.ip_address, s)]
        gateway_ok = any(server == a.ip for server in servers for a in bridge.addresses)
        if dns_servers and not gateway_ok:
            findings.append(f"{source} gives containers the resolvers {', '.join(dns_servers)}")
    if "bip" in settings and settings.get("bridge"):
        findings.append("daemon.json has both bip and bridge: dockerd refuses to start")
    return findings


def engine_agreement(engine, bridge: LinkState | None, name: str) -> list[str]:
    """Sentences on whether the running engine uses this link as it is: the engine's own answer, not the files."""
    from dockernet.host.dockerctl import bridge_disagreements
    from dockernet.errors import DockerUnreachable

    try:
        used, configs = engine.default_bridge()
    except DockerUnreachable as exc:
        return [f"cannot ask the engine: {exc}"]
    if bridge is None or not bridge.addresses:
        return [f"Docker's bridge network uses {used or 'no link'} with "
                f"{', '.join(subnet for subnet, _ in configs) or 'no subnet'}"]
    problems = bridge_disagreements(engine, name, bridge.addresses[0])
    if problems:
        return problems + ["restart Docker to apply the files (bridge setup --restart-docker does it and checks)"]
    return [f"Docker's bridge network uses {name} with {bridge.addresses[0].network}, gateway {bridge.addresses[0].ip}"]


def _parses(parse, value: str) -> bool:
    """Whether ``parse`` (``ipaddress.ip_address``, ``ip_interface``) takes ``value``: files may hold anything."""
    try:
        parse(value)
    except ValueError:
        return False
    return True


# --- --restart-docker ---------------------------------------------------------------------


def apply_restarting_docker(plan: BridgePlan, netns: str | None, before: LinkState | None, spec: BridgeSpec,
                            service, engine, say) -> None:
    """Stop Docker, apply the plan, start Docker and ask it whether it uses the new bridge; if it does not come
    back so, put the old link and files back and start Docker again. ``say`` reports each step."""
    from dockernet.bridge import netlink
    from dockernet.host.dockerctl import bridge_disagreements, wait_for_engine

    say(f"stopping Docker ({service.describe()})")
    service.stop()
    try:
        with netlink(netns) as ipr:
            execute(plan, ipr, before, spec.name)
    except RolledBack as exc:
        _start_again(service, engine, say, failure=str(exc))
        raise
    say("starting Docker")
    try:
        service.start()
        wait_for_engine(engine, service)
        problems = bridge_disagreements(engine, spec.name, spec.interface)
    except DockernetError as exc:
        problems = [str(exc)]
    if not problems:
        say(f"Docker runs again: its bridge network uses {spec.name}, {spec.network}, gateway {spec.interface.ip}")
        return
    failure = f"Docker did not come back with {spec.name} on {spec.network} ({'; '.join(problems)})"
    say(f"{failure}: putting back the old link and files")
    try:
        service.stop()
    except DockernetError:
        pass  # it may not have started at all
    with netlink(netns) as ipr:
        leftovers = _put_back(ipr, before, spec.name, [change for change in plan.files if change.changed],
                              link_changed=bool(plan.steps))
    if leftovers:
        raise RolledBack(f"{failure}; putting back the old link and files failed too: {'; '.join(leftovers)}",
                         hint="Docker is stopped; fix the files by hand and start it")
    _start_again(service, engine, say, failure)
    raise RolledBack(f"{failure}; the old link and files are back and Docker runs again with them")


def _start_again(service, engine, say, failure: str) -> None:
    """Start Docker with the old settings after ``failure``; when that fails too, say both."""
    from dockernet.host.dockerctl import wait_for_engine

    say("starting Docker again as it was")
    try:
        service.start()
        wait_for_engine(engine, service)
    except DockernetError as exc:
        raise RolledBack(f"{failure}; starting Docker again as it was failed too: {exc}",
                         hint="start Docker by hand and read its log") from None
