"""DOCKER_OPTS in /etc/default/docker: read as sh reads it, rewritten so that sh gives the same words back.

The file is a shell script: its value is read as sh reads it
(``opts_assignments``; an unclosed quote or an expansion other than
``$DOCKER_OPTS`` is refused, naming the file and line) and written back
quoted so that sh gives the same words (``sh_quote``). In the value, the
bridge, bip and dns flags in any spelling (``-b``, ``--bridge=``, the old
``-dns``...) are dockernet's (``OWNED_FLAGS``); the rest of the line and of
the file are kept byte for byte. Pure: text in, text out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dockernet.bridge import BridgeSpec
from dockernet.errors import ConfigError
from dockernet.host.daemonjson import bridge_setting, bridge_value
from dockernet.logformat import printable

#: flag name -> the daemon.json key it sets; both dash spellings are accepted by old dockers
OWNED_FLAGS = {
    "b": "bridge",
    "bridge": "bridge",
    "bip": "bip",
    "dns": "dns",
    "dns-search": "dns-search",
    "fixed-cidr": "fixed-cidr",
    "ipv6": "ipv6",
    "fixed-cidr-v6": "fixed-cidr-v6",
}
#: flags that take no value (``--ipv6``, or ``--ipv6=false``)
BOOLEAN_FLAGS = {"ipv6"}


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
    following = text[i + 1 : i + 2]
    if text[i] == "$" and (following in ("", " ", "\t", "\n") or (quoted and following == '"')):
        return "$", i + 1
    snippet = printable(text[i : i + 12].split("\n")[0])
    raise ConfigError(
        f"{where}: DOCKER_OPTS uses '{snippet}', a shell expansion: dockernet cannot tell which flags "
        "Docker gets from it",
        hint="write the flags out (or move them to daemon.json); dockernet left the file unchanged",
    )


def _sh_value(text: str, i: int, previous: str, where: str) -> tuple[str, int]:
    """The value sh assigns from the word starting at ``text[i]``, and the offset just after that word."""
    out = []
    while i < len(text) and text[i] not in _WORD_END:
        char = text[i]
        if char == "\\":
            if text[i + 1 : i + 2] not in ("", "\n"):
                out.append(text[i + 1])
            i += 2
        elif char == "'":
            close = text.find("'", i + 1)
            if close < 0:
                raise ConfigError(
                    f"{where}: DOCKER_OPTS has an unclosed ' quote",
                    hint="close it by hand; dockernet left the file unchanged",
                )
            out.append(text[i + 1 : close])
            i = close + 1
        elif char == '"':
            i += 1
            while True:
                if i >= len(text):
                    raise ConfigError(
                        f'{where}: DOCKER_OPTS has an unclosed " quote',
                        hint="close it by hand; dockernet left the file unchanged",
                    )
                char = text[i]
                if char == '"':
                    i += 1
                    break
                if char == "\\" and text[i + 1 : i + 2] in tuple('$`"\\\n'):
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


def rewrite_docker_opts(
    text: str | None, spec: BridgeSpec | None, drop: frozenset[str] = LINK_KEYS, path: str = "DOCKER_OPTS file"
) -> str:
    """The defaults file with DOCKER_OPTS pointing at the bridge (``spec`` None: only the flags of ``drop`` removed).

    Only the value of the last assignment changes; the rest of the file is
    kept byte for byte. The value is the words the shell gave, without the
    flags of ``drop``, then ours, quoted again (``sh_quote``).
    """
    ours = []
    if spec is not None:
        ours = [f"--{bridge_setting(spec)[0]}={bridge_value(spec)}"]
        if spec.interface6:
            ours += ["--ipv6", f"--fixed-cidr-v6={spec.interface6.network}"]
        ours += [f"--dns={server}" for server in spec.dns]
        ours += [f"--dns-search={domain}" for domain in spec.dns_search]
    text = text or ""
    assignments = opts_assignments(text, path)
    if assignments:
        last = assignments[-1]
        value = " ".join(_without_owned_flags(opts_words(last.value), drop) + ours)
        return text[: last.start] + sh_quote(value, text[last.start : last.start + 1]) + text[last.end :]
    if not ours:
        return text
    if text and not text.endswith("\n"):
        text += "\n"
    return (
        text
        + "\n# Docker's bridge and resolvers, written by dockernet bridge setup\nDOCKER_OPTS="
        + sh_quote(" ".join(ours))
        + "\n"
    )
