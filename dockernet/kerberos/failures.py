"""What each Kerberos failure means, as one line that says what to fix (pure: codes in, typed errors out).

MIT Kerberos reports the cause in the GSS-API minor status, a ``krb5.h``
error code (signed; python-gssapi hands it over unsigned). Only the codes a
person can act on are named here; any other keeps MIT's own text. No
message ever carries a ticket, a key or a keytab's contents: only names.
"""

from __future__ import annotations

from dataclasses import dataclass

from dockernet.errors import DockernetError, KdcUnreachable, KerberosError

# krb5.h error codes (MIT krb5 1.20)
C_PRINCIPAL_UNKNOWN = -1765328378
S_PRINCIPAL_UNKNOWN = -1765328377
CLIENT_REVOKED = -1765328366
KEY_EXPIRED = -1765328361
PREAUTH_FAILED = -1765328360
TKT_EXPIRED = -1765328352
CLOCK_SKEW = -1765328347
CONFIG_CANTOPEN = -1765328249
CC_NOTFOUND = -1765328243
REALM_UNKNOWN = -1765328230
KDC_UNREACH = -1765328228
KT_NOTFOUND = -1765328203
KT_END = -1765328202
FCC_NOFILE = -1765328189
REALM_CANT_RESOLVE = -1765328164
KT_KVNONOTFOUND = -1765328154
ENOENT = 2
EACCES = 13


@dataclass(frozen=True)
class Who:
    """The names a failure is about: the client principal (None: the cache's), the service, the keytab."""

    principal: str | None
    service: str
    keytab: str | None = None

    @property
    def client(self) -> str:
        if self.principal:
            return f"principal '{self.principal}'"
        return "the keytab's principal" if self.keytab else "the credentials cache's principal"

    @property
    def source(self) -> str:
        return f"keytab {self.keytab}" if self.keytab else "the credentials cache (KRB5CCNAME)"


def signed(code: int) -> int:
    """A minor status as krb5.h writes it (python-gssapi gives the unsigned 32-bit value)."""
    return code - (1 << 32) if code >= (1 << 31) else code


def explain(minor: int, text: str, who: Who) -> DockernetError:
    """The error for a failed ticket or context: ``minor`` is the GSS-API minor status, ``text`` MIT's own words."""
    code = signed(minor)
    if code in (KDC_UNREACH, REALM_CANT_RESOLVE):  # no KDC answered, or its name did not resolve (yet: at boot)
        return KdcUnreachable(
            f"no Kerberos KDC answers for {who.client}",
            hint="check the realm's kdc lines in krb5.conf (KRB5_CONFIG), and that their names resolve",
        )
    if who.keytab and code in (CC_NOTFOUND, FCC_NOFILE):  # the keytab gave no ticket: it lacks the key
        code = KT_NOTFOUND
    if code not in _MEANINGS:
        towards = f" and {who.service}" if who.service else ""
        return KerberosError(f"Kerberos failed for {who.client}{towards}: {text.strip() or code}")
    message, hint = _MEANINGS[code]
    return KerberosError(message.format(who=who), hint=hint.format(who=who) if hint else None)


_NO_TICKET = (
    "no Kerberos ticket for {who.client} in {who.source}",
    "run kinit, or give --keytab (and --principal) so dockernet gets its own tickets",
)
_KEYTAB_KEY = (
    "{who.source} has no key for {who.client}",
    "export the principal's key into it (ktadd, or samba-tool domain exportkeytab), or give --principal as "
    "it is written there (klist -k)",
)

#: code -> (message, hint), formatted with ``who``
_MEANINGS: dict[int, tuple[str, str | None]] = {
    C_PRINCIPAL_UNKNOWN: ("the KDC knows no {who.client}", "check --principal and the realm"),
    S_PRINCIPAL_UNKNOWN: (
        "the KDC knows no service principal {who.service}",
        "the DNS server's principal is DNS/<the zone's SOA MNAME>: check that the SOA names the server by its "
        "Kerberos host name (for BIND: add that principal to the KDC and to named's tkey-gssapi-keytab), or "
        "give --server-principal",
    ),
    CLOCK_SKEW: (
        "this host's clock and the KDC's or DNS server's differ by more than Kerberos allows (clock skew)",
        "synchronise the clocks (NTP)",
    ),
    TKT_EXPIRED: (
        "the Kerberos ticket of {who.client} has expired",
        "run kinit again, or give --keytab so dockernet renews its own tickets",
    ),
    PREAUTH_FAILED: (
        "the KDC did not accept the key of {who.client} from {who.source} (pre-authentication failed)",
        "the keytab is out of date (the account's password or key version changed): export it again",
    ),
    KT_KVNONOTFOUND: _KEYTAB_KEY,
    KT_NOTFOUND: _KEYTAB_KEY,
    KT_END: _KEYTAB_KEY,
    CLIENT_REVOKED: ("the KDC refuses {who.client}: the account is disabled or locked", None),
    KEY_EXPIRED: ("the password of {who.client} has expired", "set a new one and export the keytab again"),
    CC_NOTFOUND: _NO_TICKET,
    FCC_NOFILE: _NO_TICKET,
    REALM_UNKNOWN: (
        "krb5.conf (KRB5_CONFIG) knows no KDC for the realm of {who.client}",
        "add the realm with its kdc to [realms]",
    ),
    CONFIG_CANTOPEN: ("krb5.conf cannot be read", "check KRB5_CONFIG"),
    ENOENT: ("{who.source} does not exist", None),
    EACCES: ("{who.source} is not readable by this user", None),
}
