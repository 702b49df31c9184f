"""daemon.json, Docker's JSON settings file: read, point at the bridge, take back; text in, text out.

dockernet owns only a few keys and keeps everything else in its place:
``bip`` (for docker0, which Docker manages) or ``bridge`` (any other name),
``dns`` and ``dns-search``, and with ``--cidr6`` ``ipv6`` and
``fixed-cidr-v6``; the other of ``bip`` and ``bridge`` is removed (dockerd
refuses both). A malformed file is refused, never overwritten; the file is
written back with the indentation it had, so a diff shows only what changed.
"""

from __future__ import annotations

import ipaddress
import json

from dockernet.bridge import BridgeSpec
from dockernet.errors import ConfigError


def parse_daemon_json(text: str | None, path: str = "daemon.json") -> dict:
    """The settings in daemon.json; an absent or empty file is an empty object."""
    if text is None or not text.strip():
        return {}
    try:
        settings = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}",
            hint="fix it by hand; dockernet left it unchanged",
        ) from None
    if not isinstance(settings, dict):
        raise ConfigError(f"{path} does not hold a JSON object", hint="fix it by hand; dockernet left it unchanged")
    return settings


def render_json(settings: dict, like: str | None = None) -> str:
    """JSON text, indented as ``like`` was (so a diff shows only what changed)."""
    indent: str | int = 4
    for line in (like or "").splitlines()[1:]:
        stripped = line.lstrip(" \t")
        if stripped.startswith('"'):
            indent = line[: len(line) - len(stripped)] or 4
            break
    return json.dumps(settings, indent=indent) + "\n"


#: the bridge Docker makes and manages itself
DEFAULT_BRIDGE = "docker0"


def bridge_setting(spec: BridgeSpec) -> tuple[str, str]:
    """The one setting that points Docker at the bridge, and the one it excludes.

    Docker manages docker0 itself and keeps the subnet it stored in its data
    root: on a restart it puts the old address back on a rebuilt docker0
    (seen with Docker 20.10), unless ``bip`` gives the new one. Any other
    name is a bridge of the user's, which Docker takes as it finds it
    (``bridge``). dockerd refuses ``bip`` together with ``bridge``.
    """
    if spec.name == DEFAULT_BRIDGE:
        return "bip", "bridge"
    return "bridge", "bip"


def bridge_value(spec: BridgeSpec) -> str:
    """The value of ``bridge_setting``: the gateway with its prefix for docker0, else the bridge's name."""
    return str(spec.interface) if spec.name == DEFAULT_BRIDGE else spec.name


def merge_daemon_json(text: str | None, spec: BridgeSpec, path: str = "daemon.json") -> str:
    """daemon.json pointing Docker at the bridge, every other setting kept."""
    settings = parse_daemon_json(text, path)
    key, excluded = bridge_setting(spec)
    settings.pop(excluded, None)
    fixed = settings.get("fixed-cidr")
    if fixed is not None and not inside(fixed, spec.network):
        settings.pop("fixed-cidr")  # dockerd refuses a fixed-cidr outside the bridge's subnet
    settings[key] = bridge_value(spec)
    if spec.interface6:
        settings["ipv6"] = True
        settings["fixed-cidr-v6"] = str(spec.interface6.network)
    settings["dns"] = list(spec.dns)
    if spec.dns_search:
        settings["dns-search"] = list(spec.dns_search)
    return render_json(settings, text)


def unmerge_daemon_json(
    text: str | None,
    spec_network: ipaddress.IPv4Network | None,
    name: str,
    path: str = "daemon.json",
    network6: ipaddress.IPv6Network | None = None,
) -> str | None:
    """daemon.json without the settings ``bridge setup`` wrote; None when there is no file."""
    if text is None:
        return None
    settings = parse_daemon_json(text, path)
    if network6 is not None and settings.get("fixed-cidr-v6") == str(network6):
        settings.pop("fixed-cidr-v6")
        settings.pop("ipv6", None)
    if settings.get("bridge") == name:
        settings.pop("bridge")
    if name == DEFAULT_BRIDGE and spec_network is not None and inside(settings.get("bip", ""), spec_network):
        settings.pop("bip")
    dns_servers = settings.get("dns")
    if (
        spec_network is not None
        and isinstance(dns_servers, list)
        and dns_servers
        and all(inside(server, spec_network) for server in dns_servers)
    ):
        settings.pop("dns")  # resolvers on the bridge are useless without it
    return render_json(settings, text)


def inside(value: str, network: ipaddress.IPv4Network) -> bool:
    """Whether ``value`` (an address or a network, as a file holds it) lies in ``network``; junk does not."""
    try:
        return ipaddress.ip_network(value, strict=False).subnet_of(network)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return False


def strip_daemon_json(text: str | None, keys: frozenset[str], path: str = "daemon.json") -> str | None:
    """daemon.json without ``keys`` (an absent file stays absent, an untouched one byte-identical)."""
    settings = parse_daemon_json(text, path)
    if text is None or not keys & settings.keys():
        return text
    return render_json({key: value for key, value in settings.items() if key not in keys}, text)
