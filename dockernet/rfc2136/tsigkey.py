"""Load a TSIG key from a BIND key file (as ``tsig-keygen`` or ``ddns-confgen`` write it).

The file is one ``key`` statement in named.conf syntax, read as named reads
it: comments in all three styles (``#``, ``//``, ``/* */``), keywords in any
case, the ``algorithm`` and ``secret`` statements in either order, each
exactly once (``named-checkconf`` refuses a key without an algorithm, a
statement given twice, or a missing ``;``, and so does this parser; a test
holds the two to the same verdicts). It also checks what named would say
later: an algorithm BIND does not offer, and a secret that is not base64.

The file is opened without blocking and must be a regular file of at most
``MAX_KEY_FILE`` bytes: a FIFO, a device or a huge file given as
``--key-file`` (at start-up, or on SIGHUP while the watcher runs) is one
line of error, never a hang. Nothing here ever puts the secret into a
message.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field

import dns.exception
import dns.name
import dns.tsig

from dockernet.errors import KeyFileError

#: The HMAC algorithms BIND offers for TSIG (tsig-keygen -a).
ALGORITHMS = {
    "hmac-md5": dns.tsig.HMAC_MD5,
    "hmac-sha1": dns.tsig.HMAC_SHA1,
    "hmac-sha224": dns.tsig.HMAC_SHA224,
    "hmac-sha256": dns.tsig.HMAC_SHA256,
    "hmac-sha384": dns.tsig.HMAC_SHA384,
    "hmac-sha512": dns.tsig.HMAC_SHA512,
}

#: far above any key file (tsig-keygen writes about 100 bytes, ddns-confgen about 1 KiB)
MAX_KEY_FILE = 64 * 1024

# A quoted string is matched first and kept: a base64 secret may hold "//" (about one key in a
# hundred), which a bare comment pattern would cut off as a C++ comment.
_COMMENTS = re.compile(r'("(?:[^"\\]|\\.)*")|/\*.*?\*/|//[^\n]*|#[^\n]*', re.S)
#: named.conf's tokens: a quoted string, a brace or semicolon, or a bare word; anything else is an error
_TOKENS = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([{};])|([^\s{};"]+)|(\S))')
_NOT_A_KEY_FILE = 'expected key "name" { algorithm hmac-sha256; secret "..."; };'


@dataclass(frozen=True)
class TsigKey:
    """A loaded key. ``repr`` never shows the secret."""

    name: dns.name.Name
    algorithm: dns.name.Name
    keyring: dict = field(repr=False, compare=False)

    @property
    def label(self) -> str:
        """The key's name as BIND writes it in named.conf."""
        return self.name.to_text(omit_final_dot=True)

    def __str__(self) -> str:
        return f"key '{self.label}' ({self.algorithm.to_text(omit_final_dot=True)})"

    # -- the Signer protocol (rfc2136/signer.py) --------------------------------

    #: the same key on every server that has the file
    negotiated = False

    @property
    def identity(self) -> str:
        return f"key '{self.label}'"

    @property
    def acl_name(self) -> str:
        return f'key "{self.label}"'

    def key_for(self, target: object) -> dns.tsig.Key:
        return self.keyring[self.name]

    def renew(self, target: object) -> bool:
        return False  # a key from a file is what it is until SIGHUP re-reads it

    def grant_statement(self, zone: str) -> str:
        return f"allow-update {{ {self.acl_name}; }};"

    def refusal_hint(self, zone: str) -> str:
        return (
            f"named.conf does not grant {self.acl_name} updates to this zone: add {self.grant_statement(zone)} "
            f"or a matching update-policy"
        )

    def transfer_advice(self, zone: str) -> str:
        return f"add to the zone in named.conf: allow-transfer {{ {self.acl_name}; }};"


def _tokens(text: str) -> list[tuple[str, bool]] | None:
    """(token, quoted) pairs of named.conf text without its comments; None when a quote is left open."""
    tokens = []
    for match in _TOKENS.finditer(text):
        quoted, punct, word, stray = match.groups()
        if stray is not None:
            return None
        tokens.append((quoted, True) if quoted is not None else (punct or word, False))
    return tokens


def parse_key_text(text: str, origin: str = "key file") -> TsigKey:
    """Parse the text of a BIND key file; ``origin`` names it in errors.

    ``key NAME { STATEMENT; ... };`` with the statements ``algorithm`` and
    ``secret``, once each and in any order (see the module docstring).
    """

    def refuse(why: str = "") -> KeyFileError:
        return KeyFileError(f"{origin} is not a BIND key file{why}", hint=_NOT_A_KEY_FILE)

    tokens = _tokens(_COMMENTS.sub(lambda match: match.group(1) or " ", text))
    if tokens is None:
        raise refuse(" (a quote is not closed)")
    name_text, values = _key_statements(tokens, origin, refuse)
    if "algorithm" not in values or "secret" not in values:
        missing = " and ".join(word for word in ("algorithm", "secret") if word not in values)
        raise KeyFileError(
            f"{origin}: key '{name_text}' has no {missing}", hint="named refuses such a key too; " + _NOT_A_KEY_FILE
        )
    algorithm_text, secret = values["algorithm"].lower(), values["secret"]
    if algorithm_text not in ALGORITHMS:
        raise KeyFileError(
            f"{origin}: algorithm '{algorithm_text}' is not one BIND offers for TSIG",
            hint="use one of " + ", ".join(ALGORITHMS),
        )
    try:
        decoded = base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if not decoded:
        raise KeyFileError(f"{origin}: the secret of key '{name_text}' is not valid base64")
    try:
        name = dns.name.from_text(name_text)
    except dns.exception.DNSException:
        raise KeyFileError(f"{origin}: '{name_text}' is not a valid key name") from None
    algorithm = ALGORITHMS[algorithm_text]
    keyring = {name: dns.tsig.Key(name, secret, algorithm)}
    return TsigKey(name=name, algorithm=algorithm, keyring=keyring)


def _key_statements(
    tokens: list[tuple[str, bool]], origin: str, refuse: Callable[[str], KeyFileError]
) -> tuple[str, dict[str, str]]:
    """The key's name and its statements (``algorithm``, ``secret``) from the tokens of ``key NAME { ... };``."""
    words = [token.lower() if not quoted else None for token, quoted in tokens]
    if len(tokens) < 3 or words[0] != "key" or words[1] in ("{", "}", ";") or words[2] != "{":
        raise refuse("")
    name_text = tokens[1][0]
    values: dict[str, str] = {}
    at = 3
    while at < len(tokens) and words[at] != "}":
        statement = words[at]
        if statement not in ("algorithm", "secret"):
            # the word is not shown: a secret written without its keyword would land in the message
            raise refuse(f" (a statement other than algorithm and secret in key '{name_text}')")
        if statement in values:
            raise refuse(f" ('{statement}' is given twice in key '{name_text}')")
        if at + 2 >= len(tokens) or words[at + 1] in ("{", "}", ";") or words[at + 2] != ";":
            raise refuse(f" (missing ';' after '{statement}' in key '{name_text}')")
        values[statement] = tokens[at + 1][0]
        at += 3
    if at + 1 >= len(tokens) or words[at + 1] != ";":
        raise refuse(" (missing ';' after the key's closing brace)")
    rest = tokens[at + 2 :]
    if rest and words[at + 2] == "key":
        raise KeyFileError(f"{origin} holds more than one key", hint="keep only the key dockernet should sign with")
    if rest:
        raise refuse("")
    return name_text, values


_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def open_regular_file(path: str | os.PathLike, what: str, made_by: str) -> int:
    """A descriptor of ``path`` opened for reading without blocking, refused unless it is a regular file.

    Judged by ``fstat`` of what was opened, not by the path, which may be
    replaced in between; ``what`` names it and ``made_by`` says what writes
    a good one, in the errors.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise KeyFileError(f"{what} {path} does not exist", hint=f"create one with {made_by}") from None
    except PermissionError:
        raise KeyFileError(f"{what} {path} is not readable by this user") from None
    except OSError as exc:  # a socket (ENXIO), a loop of symbolic links, ...
        raise KeyFileError(f"{what} {path} cannot be read ({exc.strerror or exc.__class__.__name__})") from None
    try:
        mode = os.fstat(fd).st_mode
    except OSError as exc:
        os.close(fd)
        raise KeyFileError(f"{what} {path} cannot be read ({exc.strerror or exc.__class__.__name__})") from None
    if stat.S_ISREG(mode):
        return fd
    os.close(fd)
    if stat.S_ISDIR(mode):
        raise KeyFileError(f"{what} {path} is a directory")
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    raise KeyFileError(f"{what} {path} is {kind}, not a regular file", hint=f"give the file {made_by} wrote")


def load_key_file(path: str | os.PathLike) -> TsigKey:
    """Read and parse a key file, turning every failure into a ``KeyFileError``. Never blocks.

    The file is opened with ``O_NONBLOCK`` (opening a FIFO for reading would
    wait for a writer) and judged by ``fstat`` of what was opened, not by the
    path, which may be replaced in between: anything but a regular file is
    refused, and at most ``MAX_KEY_FILE`` bytes are read.
    """
    fd = open_regular_file(path, "key file", made_by="tsig-keygen or 'dockernet dns init'")
    try:
        data = _read_at_most(fd, MAX_KEY_FILE + 1)
    except OSError as exc:
        raise KeyFileError(f"key file {path} cannot be read ({exc.strerror or exc.__class__.__name__})") from None
    finally:
        os.close(fd)
    if len(data) > MAX_KEY_FILE:
        raise KeyFileError(f"key file {path} is larger than {MAX_KEY_FILE // 1024} KiB, too large for a BIND key file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyFileError(f"key file {path} is not text (not UTF-8)") from None
    return parse_key_text(text, origin=f"key file {path}")


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks, size = [], 0
    while size < limit:
        chunk = os.read(fd, limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def key_file_exposure(path: str | os.PathLike) -> str | None:
    """A warning when users other than the owner may read the key file (anyone reading it may sign updates)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if mode & 0o077:
        return (
            f"key file {path} is readable or writable by other users (mode {mode & 0o777:04o}): "
            f"anyone who can read it may change the zone; chmod 600 {path}"
        )
    return None
