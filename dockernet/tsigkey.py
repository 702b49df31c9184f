"""Load a TSIG key from a BIND key file (as ``tsig-keygen`` or ``ddns-confgen`` write it).

The parsing itself is dnspython's (``dns.tsigkeyring``); this module only
removes the comments ``ddns-confgen`` puts around the key, and checks what
dnspython lets through silently: an algorithm BIND does not offer, and a
secret that is not base64 (dnspython decodes ``"!!!"`` to an empty secret).
Nothing here ever puts the secret into a message.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, field

import dns.exception
import dns.name
import dns.tsig
import dns.tsigkeyring

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

# A quoted string is matched first and kept: a base64 secret may hold "//" (about one key in a
# hundred), which a bare comment pattern would cut off as a C++ comment.
_COMMENTS = re.compile(r'("(?:[^"\\]|\\.)*")|/\*.*?\*/|//[^\n]*|#[^\n]*', re.S)


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


def parse_key_text(text: str, origin: str = "key file") -> TsigKey:
    """Parse the text of a BIND key file; ``origin`` names it in errors."""
    content = _COMMENTS.sub(lambda match: match.group(1) or " ", text).replace("\n", " ").strip()
    match = dns.tsigkeyring.TSIG_KEY_FILE_RE.match(content)
    rest = content[match.end():].strip(" ;") if match else ""
    if rest.startswith("key"):
        raise KeyFileError(f"{origin} holds more than one key", hint="keep only the key dockernet should sign with")
    if not match or rest or not content[: match.end()].rstrip().endswith("}"):
        raise KeyFileError(f"{origin} is not a BIND key file", hint='expected key "name" { algorithm hmac-sha256; secret "..."; };')
    name_text = match.group(1) or match.group(2)
    algorithm_text = (match.group(3) or match.group(4) or "hmac-sha256").lower().rstrip(".")
    secret = match.group(5) or match.group(6)
    if algorithm_text not in ALGORITHMS:
        raise KeyFileError(
            f"{origin}: algorithm '{algorithm_text}' is not one BIND offers for TSIG",
            hint="use one of " + ", ".join(ALGORITHMS),
        )
    try:
        decoded = base64.b64decode(secret or "", validate=True)
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


def load_key_file(path: str | os.PathLike) -> TsigKey:
    """Read and parse a key file, turning every failure into a ``KeyFileError``."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise KeyFileError(f"key file {path} does not exist", hint="create one with 'dockernet dns init' or 'tsig-keygen'") from None
    except PermissionError:
        raise KeyFileError(f"key file {path} is not readable by this user") from None
    except IsADirectoryError:
        raise KeyFileError(f"key file {path} is a directory") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"key file {path} cannot be read ({exc.__class__.__name__})") from None
    return parse_key_text(text, origin=f"key file {path}")


def key_file_exposure(path: str | os.PathLike) -> str | None:
    """A warning when users other than the owner may read the key file (anyone reading it may sign updates)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if mode & 0o077:
        return (f"key file {path} is readable or writable by other users (mode {mode & 0o777:04o}): "
                f"anyone who can read it may change the zone; chmod 600 {path}")
    return None
