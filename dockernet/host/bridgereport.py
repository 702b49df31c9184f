"""``bridge show``'s findings: the link as the kernel has it, and whether Docker's files and engine agree.

Each finding is a sentence: what daemon.json or DOCKER_OPTS point Docker
at, compared with the link as it is; and what the running engine's own
``bridge`` network uses. Reads only.
"""

from __future__ import annotations

import ipaddress

from dockernet.bridge import LinkState
from dockernet.errors import ConfigError, DockerUnreachable
from dockernet.host.bridgeargs import parses
from dockernet.host.bridgesetup import FilePaths
from dockernet.host.daemonjson import DEFAULT_BRIDGE, parse_daemon_json
from dockernet.host.dockerctl import bridge_disagreements
from dockernet.host.dockeropts import docker_opts, flags_in
from dockernet.host.filechange import read_text


def bridge_summary(bridge: LinkState | None) -> dict:
    """The link's state as plain values (``bridge show --json``)."""
    if bridge is None:
        return {"exists": False}
    return {
        "exists": True,
        "name": bridge.name,
        "index": bridge.index,
        "kind": bridge.kind,
        "mtu": bridge.mtu,
        "up": bridge.up,
        "addresses": [str(a) for a in bridge.addresses],
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
    sources: list[tuple[str, str | None, str | None, list[str]]] = [
        ("daemon.json", settings.get("bridge"), settings.get("bip"), settings.get("dns") or []),
        (
            "DOCKER_OPTS",
            next(reversed(opts.get("bridge", [])), None),
            next(reversed(opts.get("bip", [])), None),
            opts.get("dns") or [],
        ),
    ]
    chosen = next((source for source in sources if source[1] or source[2]), None)
    if chosen is None:
        return [
            "neither daemon.json nor DOCKER_OPTS names a bridge or its address: Docker makes its own docker0 "
            "on a subnet of its choosing"
        ]
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
        servers = [ipaddress.ip_address(s) for s in dns_servers if parses(ipaddress.ip_address, s)]
        gateway_ok = any(server == a.ip for server in servers for a in bridge.addresses)
        if dns_servers and not gateway_ok:
            findings.append(f"{source} gives containers the resolvers {', '.join(dns_servers)}")
    if "bip" in settings and settings.get("bridge"):
        findings.append("daemon.json has both bip and bridge: dockerd refuses to start")
    return findings


def engine_agreement(engine, bridge: LinkState | None, name: str) -> list[str]:
    """Sentences on whether the running engine uses this link as it is: the engine's own answer, not the files."""
    try:
        used, configs = engine.default_bridge()
    except DockerUnreachable as exc:
        return [f"cannot ask the engine: {exc}"]
    if bridge is None or not bridge.addresses:
        return [
            f"Docker's bridge network uses {used or 'no link'} with "
            f"{', '.join(subnet for subnet, _ in configs) or 'no subnet'}"
        ]
    problems = bridge_disagreements(engine, name, bridge.addresses[0])
    if problems:
        return problems + ["restart Docker to apply the files (bridge setup --restart-docker does it and checks)"]
    return [f"Docker's bridge network uses {name} with {bridge.addresses[0].network}, gateway {bridge.addresses[0].ip}"]
