"""The files that tell Docker (and ifupdown) about the bridge: render, merge, check.

Everything here maps old file text to new file text and is pure, but for
the two edges: ``read_text`` reads a file, ``write_atomic`` writes one. dockernet owns only a few settings and keeps everything else:

* ``daemon.json``: ``bip`` (for docker0, which Docker manages) or ``bridge``
  (any other name), ``dns`` and ``dns-search`` are set, the other of ``bip``
  and ``bridge`` removed (dockerd refuses both), every other key kept in
  its place;
* ``/etc/default/docker``: in ``DOCKER_OPTS``, the bridge, bip and dns
  flags in any spelling (``-b``, ``--bridge=``, the old ``-dns``...) are
  replaced; the rest of the line and of the file are kept. The file is a
  shell script: its value is read as sh reads it (``opts_assignments``;
  an unclosed quote or an expansion is refused, naming the file and line)
  and written back quoted so that sh gives the same words (``sh_quote``);
* the ifupdown stanza, so the bridge survives a reboot.

dockerd refuses to start when one setting is given both as a flag and in
daemon.json; ``find_conflicts`` finds such pairs before they are written.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from dockernet import atomicfile
from dockernet.bridge import BridgeSpec
from dockernet.errors import ConfigError
from dockernet.logformat import printable

STANZA_HEADER = "# written by dockernet bridge setup"


# --- daemon.json ------------------------------------------------------------------


def parse_daemon_json(text: str | None, path: str = "daemon.json") -> dict:
    """The settings in daemon.json; an absent or empty file is an empty object."""
    if text is None or not text.strip():
        return {}
    try:
        settings = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}",
                          hint="fix it by hand; dockernet left it unchanged") from None
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


def _bridge_value(spec: BridgeSpec) -> str:
    return str(spec.interface) if spec.name == DEFAULT_BRIDGE else spec.name


def merge_daemon_json(text: str | None, spec: BridgeSpec, path: str = "daemon.json") -> str:
    """daemon.json pointing Docker at the bridge, every other setting kept."""
    settings = parse_daemon_json(text, path)
    key, excluded = bridge_setting(spec)
    settings.pop(excluded, None)
    fixed = settings.get("fixed-cidr")
    if fixed is not None and not _inside(fixed, spec.network):
        settings.pop("fixed-cidr")  # dockerd refuses a fixed-cidr outside the bridge's subnet
    settings[key] = _bridge_value(spec)
    if spec.interface6:
        settings["ipv6"] = True
        settings["fixed-cidr-v6"] = str(spec.interface6.network)
    settings["dns"] = list(spec.dns)
    if spec.dns_search:
        settings["dns-search"] = list(spec.dns_search)
    return render_json(settings, text)


def unmerge_daemon_json(text: str | None, spec_network: ipaddress.IPv4Network | None, name: str,
                        path: str = "daemon.json", network6: ipaddress.IPv6Network | None = None) -> str | None:
    """daemon.json without the settings ``bridge setup`` wrote; None when there is no file."""
    if text is None:
        return None
    settings = parse_daemon_json(text, path)
    if network6 is not None and settings.get("fixed-cidr-v6") == str(network6):
        settings.pop("fixed-cidr-v6")
        settings.pop("ipv6", None)
    if settings.get("bridge") == name:
        settings.pop("bridge")
    if name == DEFAULT_BRIDGE and spec_network is not None and _inside(settings.get("bip", ""), spec_network):
        settings.pop("bip")
    dns_servers = settings.get("dns")
    if spec_network is not None and isinstance(dns_servers, list) and dns_servers and all(
            _inside(server, spec_network) for server in dns_servers):
        settings.pop("dns")  # resolvers on the bridge are useless without it
    return render_json(settings, text)


def _inside(value: str, network: ipaddress.IPv4Network) -> bool:
    try:
        return ipaddress.ip_network(value, strict=False).subnet_of(network)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return False


# --- DOCKER_OPTS -----------------------------------------------------------------------

#: flag name -> the daemon.json key it sets; both dash spellings are accepted by old dockers
OWNED_FLAGS = {"b": "bridge", "bridge": "bridge", "bip": "bip", "dns": "dns", "dns-search": "dns-search",
               "fixed-cidr": "fixed-cidr", "ipv6": "ipv6", "fixed-cidr-v6": "fixed-cidr-v6"}
#: flags that take no value (``--ipv6``, or ``--ipv6=false``)
BOOLEAN_FLAGS = {"ipv6"}
#: the keys only ``--cidr6`` makes dockernet's: without it, Docker's IPv6 settings are left as they are
IPV6_KEYS = frozenset({"ipv6", "fixed-cidr-v6"})
#: the keys ``bridge setup`` writes where Docker reads its bridge settings, besides bridge or bip
WRITTEN = frozenset({"dns", "dns-search"})


def split_flag(token: str) -> tuple[str, str | None]:
    """``--dns=1.2.3.4`` -> (``dns``, ``1.2.3.4``); ``-b`` -> (``b``, None); other tokens -> ("", None)."""
    if not token.startswith("-"):
        return "", None
    name, sep, value = token.lstrip("-").partition("=")
    return name, (value if sep else None)


def flags_in(argv: list[str]) -> dict[str, list[str]]:
    """The daemon.json keys set by dockernet-owned flags in ``argv``, with their values."""
    found: dict[str, list[str]] = {}
    i = 0
    while i < len(argv):
        name, value = split_flag(argv[i])
        if name in OWNED_FLAGS:
            if name in BOOLEAN_FLAGS:
                value = "true" if value is None else value
            elif value is None and i + 1 < len(argv):
                value = argv[i + 1]
                i += 1
            found.setdefault(OWNED_FLAGS[name], []).append(value or "")
        i += 1
    return found


def _without_owned_flags(argv: list[str], keys: frozenset[str] = frozenset(OWNED_FLAGS.values())) -> list[str]:
    kept = []
    i = 0
    while i < len(argv):
        name, value = split_flag(argv[i])
        if OWNED_FLAGS.get(name) in keys:
            i += 2 if value is None and name not in BOOLEAN_FLAGS else 1
            continue
        kept.append(argv[i])
        i += 1
    return kept


# /etc/default/docker is sourced by a shell (Docker's init script) or read by systemd's EnvironmentFile=, and
# either way dockerd gets $DOCKER_OPTS split at blanks: quotes *inside* the value are not removed a second time.
# So the file is read as sh reads the assignment (the value after quote removal, then its words), and the value
# is written back quoted so that both take it literally.

_ASSIGNMENT = re.compile(r"^[ \t]*(?:export[ \t]+)?DOCKER_OPTS=", re.MULTILINE)
_SELF = re.compile(r"\$(?:\{DOCKER_OPTS\}|DOCKER_OPTS(?![A-Za-z0-9_]))")
#: where an unquoted word ends in sh (an assignment is one word)
_WORD_END = frozenset(" \t\n;&|<>()")
#: characters that mean something inside double quotes (sh and systemd's EnvironmentFile= alike)
_DOUBLE_QUOTED_SPECIAL = frozenset('"$`\\')


@dataclass(frozen=True)
class OptsAssignment:
    """One ``DOCKER_OPTS=`` assignment: where its value is in the file, and what the shell assigns."""

    start: int  # offset of the value's first character (just after '=')
    end: int  # offset just after its last
    value: str
    line: int


def _expansion(text: str, i: int, previous: str, where: str, quoted: bool) -> tuple[str, int]:
    """At ``$`` or a backtick: ``$DOCKER_OPTS`` is the value before; a lone ``$`` is itself; anything else is
    refused, because what it gives is known only to the shell that sources the file."""
    match = _SELF.match(text, i)
    if match:
        return previous, match.end()
    following = text[i + 1:i + 2]
    if text[i] == "$" and (following in ("", " ", "\t", "\n") or (quoted and following == '"')):
        return "$", i + 1
    snippet = printable(text[i:i + 12].split("\n")[0])
    raise ConfigError(f"{where}: DOCKER_OPTS uses '{snippet}', a shell expansion: dockernet cannot tell which flags "
                      "Docker gets from it", hint="write the flags out (or move them to daemon.json); dockernet left "
                                                  "the file unchanged")


def _sh_value(text: str, i: int, previous: str, where: str) -> tuple[str, int]:
    """The value sh assigns from the word starting at ``text[i]``, and the offset just after that word."""
    out = []
    while i < len(text) and text[i] not in _WORD_END:
        char = text[i]
        if char == "\\":
            if text[i + 1:i + 2] not in ("", "\n"):
                out.append(text[i + 1])
            i += 2
        elif char == "'":
            close = text.find("'", i + 1)
            if close < 0:
                raise ConfigError(f"{where}: DOCKER_OPTS has an unclosed ' quote",
                                  hint="close it by hand; dockernet left the file unchanged")
            out.append(text[i + 1:close])
            i = close + 1
        elif char == '"':
            i += 1
            while True:
                if i >= len(text):
                    raise ConfigError(f'{where}: DOCKER_OPTS has an unclosed " quote',
                                      hint="close it by hand; dockernet left the file unchanged")
                char = text[i]
                if char == '"':
                    i += 1
                    break
                if char == "\\" and text[i + 1:i + 2] in tuple('$`"\\\n'):
                    out.append("" if text[i + 1] == "\n" else text[i + 1])
                    i += 2
                elif char in "$`":
                    value, i = _expansion(text, i, previous, where, quoted=True)
                    out.append(value)
                else:
                    out.append(char)
                    i += 1
        elif char in "$`":
            value, i = _expansion(text, i, previous, where, quoted=False)
            out.append(value)
        else:
            out.append(char)
            i += 1
    return "".join(out), i


def opts_assignments(text: str | None, path: str = "DOCKER_OPTS file") -> list[OptsAssignment]:
    """Every ``DOCKER_OPTS=`` assignment at the start of a line, in order (a quoted value may span lines).

    Raises ``ConfigError`` naming the file and line for an unclosed quote or
    an expansion other than ``$DOCKER_OPTS``.
    """
    found: list[OptsAssignment] = []
    text = text or ""
    position = 0
    while (match := _ASSIGNMENT.search(text, position)) is not None:
        line = text.count("\n", 0, match.start()) + 1
        value, end = _sh_value(text, match.end(), found[-1].value if found else "", f"{path}, line {line}")
        found.append(OptsAssignment(match.end(), end, value, line))
        position = end
    return found


def opts_words(value: str) -> list[str]:
    """The arguments dockerd gets from ``$DOCKER_OPTS``: the value split at blanks, nothing else."""
    return [word for word in re.split(r"[ \t\n]+", value) if word]


def sh_quote(value: str, like: str = '"') -> str:
    """``value`` as the shell and systemd's EnvironmentFile= read it back verbatim: in the quotes of ``like``
    (``'`` or ``"``) when nothing in it is special there, else in single quotes (``'`` as ``'\''``)."""
    if like == "'" and "'" not in value:
        return f"'{value}'"
    if not _DOUBLE_QUOTED_SPECIAL & set(value):
        return f'"{value}"'
    return "'" + value.replace("'", "'\\''") + "'"


def docker_opts(text: str | None, path: str = "DOCKER_OPTS file") -> list[str]:
    """The words of the last ``DOCKER_OPTS=`` in a defaults file (the one the shell keeps)."""
    assignments = opts_assignments(text, path)
    return opts_words(assignments[-1].value) if assignments else []


#: what ``bridge teardown`` takes out of DOCKER_OPTS by default: the settings that point Docker at the bridge
LINK_KEYS = frozenset({"bridge", "bip", "dns", "dns-search"})


def rewrite_docker_opts(text: str | None, spec: BridgeSpec | None, drop: frozenset[str] = LINK_KEYS,
                        path: str = "DOCKER_OPTS file") -> str:
    """The defaults file with DOCKER_OPTS pointing at the bridge (``spec`` None: only the flags of ``drop`` removed).

    Only the value of the last assignment changes; the rest of the file is
    kept byte for byte. The value is the words the shell gave, without the
    flags of ``drop``, then ours, quoted again (``sh_quote``).
    """
    ours = []
    if spec is not None:
        ours = [f"--{bridge_setting(spec)[0]}={_bridge_value(spec)}"]
        if spec.interface6:
            ours += ["--ipv6", f"--fixed-cidr-v6={spec.interface6.network}"]
        ours += [f"--dns={server}" for server in spec.dns]
        ours += [f"--dns-search={domain}" for domain in spec.dns_search]
    text = text or ""
    assignments = opts_assignments(text, path)
    if assignments:
        last = assignments[-1]
        value = " ".join(_without_owned_flags(opts_words(last.value), drop) + ours)
        return text[:last.start] + sh_quote(value, text[last.start:last.start + 1]) + text[last.end:]
    if not ours:
        return text
    if text and not text.endswith("\n"):
        text += "\n"
    return text + "\n# Docker's bridge and resolvers, written by dockernet bridge setup\nDOCKER_OPTS=" + \
        sh_quote(" ".join(ours)) + "\n"


def strip_daemon_json(text: str | None, keys: frozenset[str], path: str = "daemon.json") -> str | None:
    """daemon.json without ``keys`` (an absent file stays absent, an untouched one byte-identical)."""
    settings = parse_daemon_json(text, path)
    if text is None or not keys & settings.keys():
        return text
    return render_json({key: value for key, value in settings.items() if key not in keys}, text)


def fixed_cidr_outside(values: list, network: ipaddress.IPv4Network) -> bool:
    """Whether any fixed-cidr given lies outside the new subnet (dockerd refuses to start then)."""
    return any(not _inside(value, network) for value in values)


def place_settings(daemon_text: str | None, defaults_text: str | None, spec: BridgeSpec, place: str,
                   opts_read: bool, path: str = "daemon.json",
                   defaults_path: str = "DOCKER_OPTS file") -> tuple[str | None, str | None]:
    """daemon.json and the defaults file after pointing Docker at the bridge from ``place``.

    ``place`` (daemon-json or docker-opts) gets bip or bridge
    (``bridge_setting``), dns and dns-search; the other file loses every
    setting that would then be given twice (dockerd refuses a key that is
    both a flag and in daemon.json), the excluded one of bip and bridge goes
    from both, and so does a ``fixed-cidr`` outside the
    new subnet. The other file's remaining settings are kept; DOCKER_OPTS is
    left alone where nothing reads it.
    """
    settings = parse_daemon_json(daemon_text, path)
    flags = flags_in(docker_opts(defaults_text, defaults_path))
    fixed = [settings["fixed-cidr"]] if "fixed-cidr" in settings else []
    fixed += flags.get("fixed-cidr", []) if opts_read else []
    key, excluded = bridge_setting(spec)
    written = {key} | (WRITTEN if spec.dns_search else WRITTEN - {"dns-search"}) | (IPV6_KEYS if spec.interface6 else set())
    gone = {excluded} | ({"fixed-cidr"} if fixed_cidr_outside(fixed, spec.network) else set())
    if place == "daemon-json":
        daemon_after = merge_daemon_json(daemon_text, spec, path)
        drop = frozenset(written | gone | ({"fixed-cidr"} & settings.keys()))
        defaults_after = (rewrite_docker_opts(defaults_text, None, drop, defaults_path) if opts_read and defaults_text
                          else defaults_text)
        if defaults_after is not None and (flags_in(docker_opts(defaults_after, defaults_path))
                                           == flags_in(docker_opts(defaults_text, defaults_path))):
            defaults_after = defaults_text  # nothing of ours was there: the file stays byte-identical
        return daemon_after, defaults_after
    kept = {"fixed-cidr"} | (set() if spec.interface6 else IPV6_KEYS)
    drop = frozenset(set(OWNED_FLAGS.values()) - kept | gone)
    defaults_after = rewrite_docker_opts(defaults_text, spec, drop, defaults_path)
    fixed_flag = bool(flags_in(docker_opts(defaults_after, defaults_path)).get("fixed-cidr"))
    daemon_after = strip_daemon_json(daemon_text, frozenset(written | gone | ({"fixed-cidr"} if fixed_flag else set())),
                                     path)
    return daemon_after, defaults_after


def pool_overlaps(settings: dict, opts_words: list[str], network: ipaddress.IPv4Network) -> list[str]:
    """Docker's default address pools that overlap the bridge's subnet (its user networks would collide with it)."""
    bases = []
    for pool in settings.get("default-address-pools") or []:
        if isinstance(pool, dict) and pool.get("base"):
            bases.append(("daemon.json", str(pool["base"])))
    for i, word in enumerate(opts_words):
        name, value = split_flag(word)
        if name == "default-address-pool":
            value = value if value is not None else (opts_words[i + 1] if i + 1 < len(opts_words) else "")
            fields = dict(part.split("=", 1) for part in value.split(",") if "=" in part)
            if fields.get("base"):
                bases.append(("DOCKER_OPTS", fields["base"]))
    found = []
    for where, base in bases:
        try:
            pool = ipaddress.ip_network(base, strict=False)
        except ValueError:
            continue
        if pool.version == network.version and pool.overlaps(network):
            found.append(f"the default address pool {base} in {where} overlaps {network}")
    return found


# --- who reads what --------------------------------------------------------------------


@dataclass(frozen=True)
class UnitFacts:
    """What the docker systemd unit and its drop-ins say (no unit: nothing read)."""

    found: bool
    reads_docker_opts: bool
    exec_flags: dict[str, list[str]]  # owned settings given as flags on ExecStart lines
    where: str = ""


def read_unit(unit_dirs: list[Path]) -> UnitFacts:
    """Read docker.service and docker.service.d/*.conf from the unit directories, highest priority first."""
    texts: list[tuple[str, str]] = []
    for directory in unit_dirs:
        unit = directory / "docker.service"
        if unit.is_file() and not texts:
            texts.append((str(unit), unit.read_text(errors="replace")))
        for dropin in sorted((directory / "docker.service.d").glob("*.conf")):
            texts.append((str(dropin), dropin.read_text(errors="replace")))
    if not texts:
        return UnitFacts(False, False, {})
    exec_lines: list[tuple[str, str]] = []
    for path, text in texts:
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("ExecStart="):
                value = line.split("=", 1)[1]
                if not value:
                    exec_lines.clear()  # an empty ExecStart= resets the list (systemd.service(5))
                else:
                    exec_lines.append((path, value))
    reads = any("$DOCKER_OPTS" in value or "${DOCKER_OPTS}" in value for _, value in exec_lines)
    flags: dict[str, list[str]] = {}
    where = ""
    for path, value in exec_lines:
        try:
            argv = shlex.split(value.lstrip("-@+!:"))
        except ValueError:
            continue
        for key, values in flags_in(argv).items():
            flags.setdefault(key, []).extend(values)
            where = path
    return UnitFacts(True, reads, flags, where)


def find_conflicts(daemon_settings: dict, opts_flags: dict[str, list[str]], unit: UnitFacts,
                   opts_read: bool) -> list[str]:
    """Settings given both as a flag and in daemon.json: dockerd refuses to start with any of them."""
    found = []
    for key in sorted(set(OWNED_FLAGS.values())):
        if key not in daemon_settings:
            continue
        if opts_read and key in opts_flags:
            found.append(f"'{key}' is in daemon.json and in DOCKER_OPTS")
        if key in unit.exec_flags:
            found.append(f"'{key}' is in daemon.json and on the ExecStart line of {unit.where}")
    return found


# --- ifupdown ------------------------------------------------------------------------------


def render_interfaces(spec: BridgeSpec, cidr_argument: str) -> str:
    """The ifupdown stanza for the bridge (bridge-utils' bridge_* options).

    Every value in it went through ``make_spec`` (an interface name, addresses,
    domain names, a number), and the ``--cidr`` of the header is written as
    ``ipaddress`` prints it: nothing the user typed can end a line and start
    an ifupdown option (``pre-up``) of its own.
    """
    lines = [
        f"{STANZA_HEADER} --cidr {ipaddress.ip_interface(cidr_argument).with_prefixlen}",
        f"auto {spec.name}",
        f"iface {spec.name} inet static",
        "    bridge_ports none",
        "    bridge_fd 0",
        "    bridge_stp off",
        f"    address {spec.gateway}",
        f"    netmask {spec.network.netmask}",
    ]
    if spec.mtu is not None:
        lines.append(f"    mtu {spec.mtu}")
    if spec.dns:
        lines.append("    dns-nameservers " + " ".join(spec.dns))
    if spec.dns_search:
        lines.append("    dns-search " + " ".join(spec.dns_search))
    if spec.interface6:
        lines += [f"iface {spec.name} inet6 static", f"    address {spec.interface6.ip}",
                  f"    netmask {spec.interface6.network.prefixlen}"]
    return "\n".join(lines) + "\n"


# --- files -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileChange:
    """A file's content before and after; ``after`` None means delete it."""

    path: Path
    before: str | None
    after: str | None

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        lines = difflib.unified_diff(
            (self.before or "").splitlines(keepends=True), (self.after or "").splitlines(keepends=True),
            fromfile=str(self.path) if self.before is not None else "/dev/null",
            tofile=str(self.path) if self.after is not None else "/dev/null",
        )
        return "".join(lines)


def read_text(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def write_atomic(change: FileChange) -> None:
    """Write (or delete) one file through ``atomicfile.write_atomic``; the mode is kept."""
    path = change.path
    try:
        if change.after is None:
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        atomicfile.write_atomic(path, change.after)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None
