"""How updates are signed, as the options said: a BIND key file, Kerberos (GSS-TSIG), or not at all (values).

``DnsSettings.auth`` holds one of these; ``load`` makes the signer
(``rfc2136/signer.py``) at start-up and again on SIGHUP. A Kerberos signer
is only made here: its first key is negotiated when the first message
needs one, with the server that message goes to.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dockernet.errors import UsageError

if TYPE_CHECKING:
    from dockernet.rfc2136.signer import Signer

#: where Debian's BIND keeps keys, and where ``dns init`` and the quickstart put dockernet's
DEFAULT_KEY_FILE = "/etc/bind/ddns.key"


@dataclass(frozen=True)
class KeyFile:
    """A TSIG key read from a BIND key file (``--key-file``)."""

    path: str = DEFAULT_KEY_FILE

    @property
    def secret_file(self) -> str:
        return self.path

    def load(self) -> Signer:
        from dockernet.rfc2136.tsigkey import load_key_file  # loaded with the DNS side

        return load_key_file(self.path)

    def exposure(self) -> str | None:
        from dockernet.rfc2136.tsigkey import key_file_exposure

        return key_file_exposure(self.path)


@dataclass(frozen=True)
class Unsigned:
    """No signature (``--no-key``): for servers that grant updates by source address."""

    secret_file = None

    def load(self) -> None:
        return None

    def exposure(self) -> str | None:
        return None


@dataclass(frozen=True)
class Kerberos:
    """GSS-TSIG (``--gss-tsig``): tickets from ``keytab`` for ``principal``, else from the user's cache."""

    keytab: str | None = None
    principal: str | None = None
    #: the DNS server's service principal; None: DNS/<the zone's SOA MNAME>@<the principal's realm>
    server_principal: str | None = None

    @property
    def secret_file(self) -> str | None:
        return self.keytab

    def load(self) -> Signer:
        from dockernet.kerberos.client import KerberosClient, gssapi_module
        from dockernet.kerberos.signer import GssSigner
        from dockernet.rfc2136.transport import exchange_unsigned

        gssapi_module()  # a missing package is said now, in one line, not at the first update
        if self.keytab:  # a keytab that is missing or no file is said as such, not as "no key in it"
            from dockernet.rfc2136.tsigkey import open_regular_file

            os.close(open_regular_file(self.keytab, "keytab", made_by="kadmin ktadd or samba-tool domain exportkeytab"))
        return GssSigner(KerberosClient(self.keytab, self.principal), exchange_unsigned, self.server_principal)

    def exposure(self) -> str | None:
        """A warning when users other than the owner may read the keytab: it holds the principal's keys."""
        if not self.keytab:
            return None
        try:
            mode = stat.S_IMODE(os.stat(self.keytab).st_mode)
        except OSError:
            return None
        if mode & 0o077:
            return (
                f"keytab {self.keytab} is readable or writable by other users (mode {mode:04o}): anyone who can "
                f"read it may change the zone as {self.principal or 'its principal'}; chmod 600 {self.keytab}"
            )
        return None


Auth = KeyFile | Unsigned | Kerberos


def auth_from_options(
    key_file: str,
    no_key: bool,
    gss_tsig: bool,
    keytab: str | None,
    principal: str | None,
    server_principal: str | None,
) -> Auth:
    """The signing the options ask for; options that contradict each other are one usage error."""
    if gss_tsig and no_key:
        raise UsageError("--gss-tsig and --no-key contradict each other", hint="give one")
    if not gss_tsig:
        given = [name for name, value in (("--keytab", keytab), ("--principal", principal)) if value]
        given += ["--server-principal"] if server_principal else []
        if given:
            raise UsageError(f"{' and '.join(given)} {'apply' if len(given) > 1 else 'applies'} only with --gss-tsig")
        return Unsigned() if no_key else KeyFile(key_file)
    return Kerberos(keytab, principal, server_principal)
