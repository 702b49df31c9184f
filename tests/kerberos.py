"""Kerberos-secured zones for the GSS-TSIG tests (#26): a private MIT KDC and a named that accepts GSS-TSIG.

* ``PrivateKdc``: Debian's MIT ``krb5kdc`` on 127.0.0.1 and a free port, in the foreground (``-n``) as a
  child process, stopped by its pid. Its krb5.conf (``KRB5_CONFIG``) and kdc.conf (``KRB5_KDC_PROFILE``),
  database, stash and keytabs live in the bed's temp dir; the krb5.conf's default ccache and keytabs point
  there too, so a client that forgets ``KRB5CCNAME`` still never writes /tmp/krb5cc_<uid>.
* ``KerberizedNamed``: ``dockernet dns init``'s named (``harness.PrivateNamed``) with
  ``tkey-gssapi-keytab`` and an ``update-policy`` per zone in place of ``allow-update``. Its service
  principal is ``DNS/<the zones' SOA MNAME>@REALM`` (``DNS/ns.docker.test@KRB.TEST``): the name
  ``nsupdate -g`` asks a ticket for. named only reads the keytab, never asks the KDC; it gets the bed's
  krb5.conf anyway, for its ``clockskew`` (a negotiated key lives until the ticket's end plus that skew).
* ``negotiate_gss_tsig``: one TKEY exchange (RFC 3645) with python-gssapi and dnspython, returning the
  context as a dnspython keyring, so a test can hold a context past its expiry (nsupdate negotiates anew
  for every ``send``).

Nothing here touches /etc/krb5.conf, /etc/krb5.keytab or the default credentials cache.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import dns.message
import dns.name
import dns.query
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.zone

from tests.harness import ZONE, PrivateNamed, clean_env, end_child, free_port, wait_for

#: what the beds run: the KDC and its database tools (krb5-kdc, krb5-admin-server), the client (krb5-user)
KERBEROS_TOOLS = ("krb5kdc", "kdb5_util", "kadmin.local", "kinit", "klist", "nsupdate")
REALM = "KRB.TEST"


def kerberos_env(krb5_config: Path, ccache: Path | None = None, extra: dict | None = None) -> dict:
    """The clean environment (``harness.clean_env``: no KRB5* of the caller's) with this bed's krb5.conf."""
    env = clean_env(extra)
    env["KRB5_CONFIG"] = str(krb5_config)
    if ccache is not None:
        env["KRB5CCNAME"] = f"FILE:{ccache}"
    return env


class PrivateKdc:
    """An MIT KDC of the bed's own for ``realm``; ``start()`` creates its database, ``stop()`` ends it by pid."""

    def __init__(
        self,
        base: Path,
        realm: str = REALM,
        max_life: str = "10h",
        clockskew: int = 300,
        domains: Sequence[str] = ("docker.test",),
        name: str = "kdc",
        netns: str | None = None,
    ):
        self.netns = netns  # run the KDC inside this namespace (its clients too: the docs check)
        self.dir = base / name
        self.realm = realm
        self.max_life = max_life  # the realm's longest ticket (kdc.conf), e.g. "30s"
        self.clockskew = clockskew  # seconds, for the KDC, the clients and the named given this krb5.conf
        self.domains = domains  # DNS domains mapped to the realm ([domain_realm])
        self.port = 0
        self.krb5_config = self.dir / "krb5.conf"
        self.kdc_profile = self.dir / "kdc.conf"
        self.pidfile = self.dir / "krb5kdc.pid"
        self.log = self.dir / "krb5kdc.log"
        self.proc: subprocess.Popen | None = None
        self.principals: set[str] = set()

    def principal(self, name: str) -> str:
        """``name`` in this realm (``dockernet/host1`` -> ``dockernet/host1@KRB.TEST``)."""
        return name if "@" in name else f"{name}@{self.realm}"

    # -- the KDC ---------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.write_config()
        self.create_database()
        stdout = open(self.dir / "krb5kdc.stdout", "ab")
        enter = ["nsenter", f"--net=/var/run/netns/{self.netns}"] if self.netns else []
        self.proc = subprocess.Popen(
            [*enter, "krb5kdc", "-r", self.realm, "-n", "-P", str(self.pidfile)],
            stdout=stdout,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self._admin_env(),
        )
        stdout.close()
        if not wait_for(self._answers, timeout, 0.05):
            tail = self.log_tail()
            self.stop()
            raise RuntimeError(f"private krb5kdc did not come up:\n{tail}")

    def write_config(self) -> None:
        d = self.dir
        domain_realm = "".join(
            f"    .{domain} = {self.realm}\n    {domain} = {self.realm}\n" for domain in self.domains
        )
        self.krb5_config.write_text(
            "[libdefaults]\n"
            f"    default_realm = {self.realm}\n"
            "    dns_lookup_kdc = false\n"
            "    dns_lookup_realm = false\n"
            "    rdns = false\n"
            "    dns_canonicalize_hostname = false\n"
            f"    clockskew = {self.clockskew}\n"
            # a program that is given this file but no KRB5CCNAME / keytab writes and reads here, not in /tmp or /etc
            f"    default_ccache_name = FILE:{d}/default.ccache\n"
            f"    default_keytab_name = FILE:{d}/default.keytab\n"
            f"    default_client_keytab_name = FILE:{d}/default-client.keytab\n"
            # else krb5kdc logs "preauth spake failed to initialize" (harmless: no principal requires preauth)
            "    spake_preauth_groups = edwards25519\n"
            "[realms]\n"
            f"    {self.realm} = {{\n"
            f"        kdc = 127.0.0.1:{self.port}\n"
            "    }\n"
            "[domain_realm]\n" + domain_realm
        )
        self.kdc_profile.write_text(
            "[kdcdefaults]\n"
            f"    kdc_listen = 127.0.0.1:{self.port}\n"
            f"    kdc_tcp_listen = 127.0.0.1:{self.port}\n"
            "[realms]\n"
            f"    {self.realm} = {{\n"
            f"        database_name = {d}/principal\n"
            f"        key_stash_file = {d}/stash\n"
            f"        acl_file = {d}/kadm5.acl\n"
            f"        max_life = {self.max_life}\n"
            "        max_renewable_life = 0\n"
            "    }\n"
            "[logging]\n"
            f"    kdc = FILE:{self.log}\n"
            f"    admin_server = FILE:{d}/kadmin.log\n"
            f"    default = FILE:{d}/krb5lib.log\n"
        )
        (d / "kadm5.acl").write_text("")

    def create_database(self) -> None:
        """The realm's database and stash; the master password (random, never kept) goes on stdin, not argv."""
        password = secrets.token_urlsafe(24)
        result = subprocess.run(
            ["kdb5_util", "-r", self.realm, "create", "-s"],
            input=f"{password}\n{password}\n",
            capture_output=True,
            text=True,
            env=self._admin_env(),
            timeout=60,
        )
        if result.returncode != 0:
            raise RuntimeError(f"kdb5_util create failed ({result.returncode}): {result.stderr}")

    def _answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError("krb5kdc exited: " + self.log_tail())
        try:
            if self.netns:
                from dockernet.ddns import socket_in_namespace

                with socket_in_namespace(f"/var/run/netns/{self.netns}", socket.AF_INET, socket.SOCK_STREAM) as sock:
                    sock.setblocking(True)
                    sock.settimeout(0.5)
                    sock.connect(("127.0.0.1", self.port))
                return True
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except Exception:  # refused, or socket_in_namespace's DnsTransient
            return False

    def log_tail(self) -> str:
        parts = []
        for path in (self.dir / "krb5kdc.stdout", self.log):
            if path.exists():
                parts.append(path.read_text(errors="replace")[-1500:])
        return "\n".join(parts)

    def stop(self) -> None:
        self.proc = end_child(self.proc)

    def _admin_env(self) -> dict:
        return kerberos_env(self.krb5_config, extra={"KRB5_KDC_PROFILE": str(self.kdc_profile)})

    # -- principals and clients ------------------------------------------------

    def kadmin(self, query: str) -> str:
        """One ``kadmin.local -q`` query against the database (local: no kadmind, no password)."""
        result = subprocess.run(
            ["kadmin.local", "-r", self.realm, "-q", query],
            capture_output=True,
            text=True,
            env=self._admin_env(),
            timeout=60,
        )
        # kadmin.local exits 0 on a failed query; its complaints are on stderr, after the "Authenticating" line
        errors = [line for line in result.stderr.splitlines() if "No policy specified" not in line]
        if result.returncode != 0 or errors:
            raise RuntimeError(f"kadmin.local {query.split()[0]} failed: {result.stderr.strip()}")
        return result.stdout

    def add_principal(self, name: str, keytab: Path | None = None, max_life: str | None = None) -> Path:
        """A principal with a random key, exported (its current key, not a new one) to ``keytab`` (mode 0600).

        ``max_life`` (e.g. ``"30s"``) caps its tickets below the realm's ``max_life``. Returns the keytab's path
        (by default ``<name with / as ->.keytab`` in the bed's directory).
        """
        principal = self.principal(name)
        keytab = keytab or self.dir / (principal.split("@")[0].replace("/", "-") + ".keytab")
        life = f" -maxlife {max_life}" if max_life else ""
        if principal not in self.principals:  # a second server of the same name shares the principal's key
            self.kadmin(f"addprinc -randkey{life} {principal}")
            self.principals.add(principal)
        self.kadmin(f"ktadd -norandkey -k {keytab} {principal}")
        keytab.chmod(0o600)
        return keytab

    def env(self, ccache: Path) -> dict:
        """A client's environment: this KDC's krb5.conf, ``ccache`` as its only cache, no KRB5_KTNAME."""
        return kerberos_env(self.krb5_config, ccache)

    def kinit(self, name: str, keytab: Path, ccache: Path) -> dict:
        """A ticket-granting ticket for ``name`` from its keytab into ``ccache``; returns the client's env."""
        env = self.env(ccache)
        result = subprocess.run(
            ["kinit", "-k", "-t", str(keytab), self.principal(name)],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
        )
        if result.returncode != 0:
            raise RuntimeError(f"kinit {name} failed: {result.stderr.strip()}")
        return env


# -- a named that accepts GSS-TSIG ---------------------------------------------------------------


class KerberizedNamed(PrivateNamed):
    """``dns init``'s named whose zones take updates by ``update-policy``: GSS-TSIG identities and its HMAC key.

    ``policy(zone)`` gives a zone's rules (``grant "dockernet/host1@KRB.TEST" subdomain docker.test. ANY;``),
    for the forward zone and each reverse zone ``dns init`` wrote; ``grant "ddns-key" zonesub ANY;`` follows
    them unless ``key_updates`` is False. Transfers stay with the HMAC key.
    """

    def __init__(
        self,
        base: Path,
        kdc: PrivateKdc,
        policy: Callable[[str], Sequence[str]],
        name: str = "named-krb",
        key_updates: bool = True,
        **kwargs,
    ):
        super().__init__(base, name=name, **kwargs)
        self.kdc = kdc
        self.policy = policy
        self.key_updates = key_updates
        self.keytab = self.dir / "dns.keytab"
        self.service_principal = ""  # known after provision(): DNS/<SOA MNAME>@REALM

    def provision(self) -> None:
        super().provision()
        mname = self.soa_mname()
        self.service_principal = self.kdc.principal(f"DNS/{mname}")
        self.kdc.add_principal(self.service_principal, keytab=self.keytab)
        conf = self.dir / "named.conf"
        text = conf.read_text()
        options_end = text.index("\n};", text.index("options {"))
        text = text[:options_end] + f'\n\ttkey-gssapi-keytab "{self.keytab}";' + text[options_end:]
        conf.write_text(re.sub(r'zone "([^"]+)" \{.*?\n\};', self._secured, text, flags=re.S))

    def soa_mname(self) -> str:
        """The forward zone's SOA MNAME, without the final dot (``dns init`` writes ``ns.<zone>``)."""
        zone = dns.zone.from_file(str(self.dir / f"{self.zone}.zone"), origin=self.zone, relativize=False)
        soa = zone.find_rdataset(self.zone + ".", "SOA")[0]
        return soa.mname.to_text(omit_final_dot=True)

    def zones(self) -> list[str]:
        return re.findall(r'^zone "([^"]+)"', (self.dir / "named.conf").read_text(), flags=re.M)

    def _secured(self, block: re.Match) -> str:
        zone = block.group(1)
        rules = [*self.policy(zone), *(['grant "ddns-key" zonesub ANY;'] if self.key_updates else [])]
        policy = "update-policy {\n" + "".join(f"\t\t{rule}\n" for rule in rules) + "\t};"
        secured = block.group(0).replace('allow-update { key "ddns-key"; };', policy)
        assert secured != block.group(0), f"no allow-update line to replace in zone {zone}"
        return secured

    def environment(self) -> dict:
        """named's: the bed's krb5.conf (its clockskew), nothing of the caller's KRB5*; the keytab is in named.conf.
        Its replay cache goes in its own directory: MIT's default is a file in the host's /var/tmp."""
        return kerberos_env(self.kdc.krb5_config, extra={"KRB5RCACHEDIR": str(self.dir)})

    # -- BIND's own client -----------------------------------------------------------------------------

    def nsupdate(self, env: dict, *commands: str, zone: str | None = None, debug: bool = False):
        """``nsupdate -g`` (GSS-TSIG with the ticket in ``env``'s cache): ``commands`` then ``send``."""
        script = f"server 127.0.0.1 {self.port}\nzone {zone or self.zone}\n" + "".join(f"{c}\n" for c in commands)
        return subprocess.run(
            ["nsupdate", "-g", *(["-d"] if debug else [])],
            input=script + "send\n",
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    def log_text(self) -> str:
        return (self.dir / "named.log").read_text(errors="replace")


# -- one TKEY exchange by hand ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GssTsigContext:
    """A negotiated GSS-TSIG key: sign with ``keyring`` and ``keyname``; named's TKEY answer's times."""

    keyname: dns.name.Name
    keyring: dns.tsig.GSSTSigAdapter
    tkey_error: int
    inception: int
    expiration: int


def negotiate_gss_tsig(service_principal: str, port: int, address: str = "127.0.0.1") -> GssTsigContext:
    """RFC 3645 section 4: a TKEY query (mode 3) carrying the GSS token, over TCP; the answer's token completes
    the context and dnspython's adapter verifies the answer's TSIG with it.

    Uses the credentials cache and krb5.conf of this process's environment (KRB5CCNAME, KRB5_CONFIG).
    """
    import dns.rdtypes.ANY.TKEY
    import gssapi

    target = gssapi.Name(service_principal, gssapi.NameType.kerberos_principal)
    context = gssapi.SecurityContext(name=target, usage="initiate")
    keyname = dns.name.from_text(f"{uuid.uuid4().hex[:12]}.sig-bed.")
    keyring = dns.tsig.GSSTSigAdapter({keyname: dns.tsig.Key(keyname, context, dns.tsig.GSS_TSIG)})
    now = int(time.time())
    tkey = dns.rdtypes.ANY.TKEY.TKEY(
        dns.rdataclass.ANY, dns.rdatatype.TKEY, dns.tsig.GSS_TSIG, now, now + 86400, 3, 0, context.step()
    )
    query = dns.message.make_query(keyname, dns.rdatatype.TKEY, dns.rdataclass.ANY)
    query.additional.append(dns.rrset.from_rdata(keyname, 0, tkey))
    query.keyring = keyring  # the answer's TSIG is verified with the context its TKEY completes
    response = dns.query.tcp(query, address, port=port, timeout=5)
    answer = response.find_rrset(response.answer, keyname, dns.rdataclass.ANY, dns.rdatatype.TKEY)[0]
    if not context.complete:
        raise RuntimeError(f"GSS context for {service_principal} not complete after one TKEY exchange")
    return GssTsigContext(keyname, keyring, answer.error, answer.inception, answer.expiration)


def default_ccache_path() -> Path | None:
    """The credentials cache a plain ``klist`` would use (the host's krb5.conf, no KRB5CCNAME): a FILE path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRB5")}
    result = subprocess.run(["klist"], capture_output=True, text=True, env=env, timeout=30)
    found = re.search(r"(?:Ticket cache: |\(filename: )(?:FILE:)?(/[^)\s]+)", result.stdout + result.stderr)
    return Path(found.group(1)) if found else None


# -- dockernet as a GSS-TSIG client ----------------------------------------------------------------------


@dataclass
class GssClient:
    """A server as ``WatcherProcess`` sees it (``client_args``, ``zone``, ``port``), signing with GSS-TSIG as
    ``principal`` with tickets from ``keytab``; the KRB5_CONFIG and KRB5CCNAME go into the process's ``env``."""

    zone: str
    port: int
    keytab: Path
    principal: str
    key_file: Path | None = None  # WatcherProcess's default key: none, with --gss-tsig

    def client_args(self, key_file: Path | None = None, server: str = "127.0.0.1") -> list[str]:
        return [
            *("--server", server, "--port", str(self.port), "--zone", self.zone),
            *("--gss-tsig", "--keytab", str(self.keytab), "--principal", self.principal),
        ]


# -- the principals and rules the integration tests share (tests/integration/conftest.py) -----------------

HOST1 = "dockernet/host1"  # granted in every zone, but not at DENIED
HOST2 = "dockernet/host2"  # a valid principal no rule names
SHORT = "dockernet/short"  # granted, with 30 s tickets
DENIED = "outside"
#: named's (and the clients') clock skew: a negotiated key outlives its ticket by this much
CLOCKSKEW = 10


def bed_policy(zone: str) -> list[str]:
    """The bed's update-policy rules for ``zone``: HOST1 and SHORT granted everywhere, HOST1 denied at DENIED."""
    deny = [f'deny "{HOST1}@KRB.TEST" name {DENIED}.{zone}. ANY;'] if zone == ZONE else []
    return [*deny, *(f'grant "{who}@KRB.TEST" subdomain {zone}. ANY;' for who in (HOST1, SHORT))]


def snapshot(path: Path | None):
    """Whether ``path`` exists, and a digest of its bytes: what a write would change."""
    if path is None or not path.exists():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns
