"""``dockernet dns init``: a ready-to-run BIND9 configuration for a container zone.

Rendering is pure (``render_*``), writing is one step at the end
(``write_files``) that refuses to overwrite unless forced and writes every
file to a temp file in the same directory before renaming it into place.
"""

from __future__ import annotations

import base64
import ipaddress
import secrets
from dataclasses import dataclass
from pathlib import Path

import dns.name
import dns.reversename

from dockernet.atomicfile import write_atomic
from dockernet.errors import FileConflict, UsageError, WriteFailed
from dockernet.logformat import printable
from dockernet.publish.naming import conf_safe_name

KEY_FILE = "ddns.key"
CONF_FILE = "named.conf"


@dataclass(frozen=True)
class InitSpec:
    zone: dns.name.Name
    directory: Path
    listen: str = "127.0.0.1"
    port: int = 53
    subnets: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    key_name: str = "ddns-key"
    algorithm: str = "hmac-sha256"
    #: let the key transfer the zone (AXFR), so the watcher can sweep it for stale records
    allow_transfer: bool = True


def zone_text(zone: dns.name.Name) -> str:
    return zone.to_text(omit_final_dot=True)


def reverse_zone(subnet: ipaddress.IPv4Network | ipaddress.IPv6Network) -> dns.name.Name:
    """The reverse zone that holds the subnet's PTR records.

    Reverse zones are cut on octet (IPv4) or nibble (IPv6) boundaries, so a
    prefix between two boundaries gets the enclosing zone: 10.1.0.0/20 lives
    in 1.10.in-addr.arpa.
    """
    unit = 8 if subnet.version == 4 else 4
    if subnet.prefixlen < unit:
        raise UsageError(f"{subnet} is too large for one reverse zone")
    full = dns.reversename.from_address(str(subnet.network_address))
    keep = subnet.prefixlen // unit
    total = subnet.max_prefixlen // unit
    return dns.name.Name(full.labels[total - keep :])


def new_secret(algorithm: str) -> str:
    """A random secret as long as the HMAC's output, as tsig-keygen makes it."""
    size = {
        "hmac-md5": 16,
        "hmac-sha1": 20,
        "hmac-sha224": 28,
        "hmac-sha256": 32,
        "hmac-sha384": 48,
        "hmac-sha512": 64,
    }[algorithm]
    return base64.b64encode(secrets.token_bytes(size)).decode()


def render_key(name: str, algorithm: str, secret: str) -> str:
    return f'key "{name}" {{\n\talgorithm {algorithm};\n\tsecret "{secret}";\n}};\n'


def render_zone(zone: dns.name.Name, listen: str) -> str:
    """A minimal zone: SOA and NS, the name server's own address as glue."""
    rdtype = "AAAA" if ipaddress.ip_address(listen).version == 6 else "A"
    origin = zone.to_text()
    return (
        f"; written by dockernet dns init\n"
        f"$ORIGIN {origin}\n"
        f"$TTL 300\n"
        f"@\tIN SOA ns.{origin} hostmaster.{origin} 1 3600 600 86400 60\n"
        f"@\tIN NS ns.{origin}\n"
        f"ns\tIN {rdtype} {listen}\n"
    )


def render_reverse_zone(zone: dns.name.Name, forward: dns.name.Name) -> str:
    origin = forward.to_text()
    return (
        f"; written by dockernet dns init\n"
        f"$ORIGIN {zone.to_text()}\n"
        f"$TTL 300\n"
        f"@\tIN SOA ns.{origin} hostmaster.{origin} 1 3600 600 86400 60\n"
        f"@\tIN NS ns.{origin}\n"
    )


def _zone_block(zone: dns.name.Name, key_name: str, allow_transfer: bool) -> str:
    transfer = f'key "{key_name}"' if allow_transfer else "none"
    return (
        f'zone "{zone_text(zone)}" {{\n'
        f"\ttype primary;\n"
        f'\tfile "{zone_text(zone)}.zone";\n'
        f'\tallow-update {{ key "{key_name}"; }};\n'
        f"\tallow-transfer {{ {transfer}; }};\n"
        f"}};\n"
    )


def render_named_conf(spec: InitSpec) -> str:
    """named.conf for a private, authoritative-only server on ``spec.listen``."""
    directory = spec.directory.resolve()
    v6 = ipaddress.ip_address(spec.listen).version == 6
    listen_v4 = "none" if v6 else spec.listen
    listen_v6 = spec.listen if v6 else "none"
    zones = [_zone_block(spec.zone, spec.key_name, spec.allow_transfer)]
    for reverse in reverse_zones(spec):
        zones.append(_zone_block(reverse, spec.key_name, spec.allow_transfer))
    return (
        "// written by dockernet dns init: run with  named -g -c " + str(directory / CONF_FILE) + "\n"
        f'include "{directory / KEY_FILE}";\n\n'
        "options {\n"
        f'\tdirectory "{directory}";\n'
        f'\tpid-file "{directory / "named.pid"}";\n'
        f'\tsession-keyfile "{directory / "session.key"}";\n'
        f"\tlisten-on port {spec.port} {{ {listen_v4}; }};\n"
        f"\tlisten-on-v6 port {spec.port} {{ {listen_v6}; }};\n"
        "\trecursion no;\n"
        "\tdnssec-validation no;\n"
        "\tallow-transfer { none; };\n"
        "};\n\n"
        "// no rndc control channel: this server is stopped by its pid\n"
        "controls { };\n\n" + "\n".join(zones)
    )


def render_all(spec: InitSpec, secret: str) -> dict[str, tuple[str, int]]:
    """Every file ``dns init`` writes: name -> (content, mode)."""
    for what, text in (("key name", spec.key_name), ("zone", zone_text(spec.zone))):
        if not conf_safe_name(text):  # these are written into named.conf and file names as they are
            raise UsageError(f"'{printable(text)}' is not a valid {what} for named.conf")
    files = {
        KEY_FILE: (render_key(spec.key_name, spec.algorithm, secret), 0o600),
        CONF_FILE: (render_named_conf(spec), 0o644),
        f"{zone_text(spec.zone)}.zone": (render_zone(spec.zone, spec.listen), 0o644),
    }
    for reverse in reverse_zones(spec):
        files[f"{zone_text(reverse)}.zone"] = (render_reverse_zone(reverse, spec.zone), 0o644)
    return files


def reconfigure(spec: InitSpec) -> list[Path]:
    """Rewrite named.conf alone, for files an earlier ``dns init`` wrote.

    The key stays (watchers hold it) and so do the zone files (named keeps
    the published records in them); only what the server listens on, and
    which zones it serves, change.
    """
    needed = [KEY_FILE, *(f"{zone_text(zone)}.zone" for zone in [spec.zone, *reverse_zones(spec)])]
    missing = [name for name in needed if not (spec.directory / name).is_file()]
    if missing:
        raise UsageError(
            f"{', '.join(str(spec.directory / name) for name in missing)} missing: "
            "--conf-only rewrites named.conf next to the files of an earlier dns init "
            "(run it without --conf-only first)"
        )
    conf = render_all(spec, secret="")[CONF_FILE]
    return write_files(spec.directory, {CONF_FILE: conf}, force=True)


def reverse_zones(spec: InitSpec) -> list[dns.name.Name]:
    """One reverse zone per subnet, each once."""
    zones: list[dns.name.Name] = []
    for subnet in spec.subnets:
        zone = reverse_zone(subnet)
        if zone not in zones:
            zones.append(zone)
    return zones


def write_files(directory: Path, files: dict[str, tuple[str, int]], force: bool) -> list[Path]:
    """Write all files or none: every conflict is found before the first write, and a failure part-way
    removes the files this run created and puts back the ones ``--force`` overwrote."""
    targets = [directory / name for name in files]
    try:
        existing = [path for path in targets if path.exists()]
        originals = {path: (path.read_text(), path.stat().st_mode & 0o7777) for path in existing if path.is_file()}
    except OSError as exc:
        raise WriteFailed(f"cannot look into {directory}: {exc.strerror}") from None
    if existing and not force:
        raise FileConflict(
            f"{', '.join(str(path) for path in existing)} already exist(s)", hint="use --force to overwrite"
        )
    written: list[Path] = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for path in targets:
            content, mode = files[path.name]
            write_atomic(path, content, mode)
            written.append(path)
    except OSError as exc:
        for path in written:  # all or none: a key without its named.conf helps nobody
            if path in originals:
                write_atomic(path, *originals[path])
            else:
                path.unlink(missing_ok=True)
        raise WriteFailed(
            f"cannot write into {directory}: {exc.strerror}", hint="choose a --dir this user may write to"
        ) from None
    return targets
