"""A real Samba Active Directory DC for the GSS-TSIG tests (#26): Debian's samba, its internal DNS server.

``samba-tool domain provision --use-rfc2307 --dns-backend=SAMBA_INTERNAL``
into a temp dir (``--targetdir``; every path samba would take from the host
is set in the smb.conf it writes), then ``samba --foreground`` in a network
namespace of the test's, on an address of that namespace's ``lo``
(``interfaces = 127.0.0.10``, ``bind interfaces only``: loopback is accepted).

Samba and every samba-tool run as ``nsenter --net=<ns> unshare --mount``:
inside their mount namespace the host's samba dirs (/run/samba,
/var/lib/samba, /var/cache/samba, /var/log/samba, /etc/samba) are empty
tmpfs, so a path the smb.conf missed cannot touch the host, and
/etc/resolv.conf is a bind mount of the bed's own (the DC itself: its
samba_dnsupdate asks DNS). The server also gets a PID namespace of its own
(``--pid --fork --kill-child``) with samba as its init: its ~60 prefork
workers and helpers die with it, whatever happens to the master.

Clients (kinit, nsupdate -g) run inside the network namespace with a
krb5.conf and a ccache of the bed's (``env``): never /etc/krb5.conf or the
default ccache. The Administrator password is made here, kept in a 0600
file, and reaches samba-tool on its stdin or in PASSWD, never in an argv.

What Samba 4.17's DNS server does (seen with these tests):
* the zone is "secure only": an unsigned UPDATE is REFUSED;
* a name is owned by the account that created it (the dnsNode's owner);
  another account's UPDATE at that name, even adding another type, is
  SERVFAIL (AD's ACL; not REFUSED); an account may add names of its own;
* AXFR gets NOERROR with an empty answer and the SOA in authority: no
  transfer, and no REFUSED (the same with ``dns zone transfer clients
  allow = 127.0.0.0/8`` in ``options``);
* it signs its UPDATE responses over the request's MAC without its length
  field (RFC 8945 4.3.1 includes it): ``nsupdate -g`` says "; TSIG error
  with server: tsig verify failure" and exits 2 though the update is
  applied (tests/gss_client.py checks both forms);
* it rejects (NOTAUTH, TSIG error BADSIG) a request whose TSIG owner name is
  compressed, as dnspython does when the key name ends in the zone's name;
* after a restart a context negotiated before is unknown: NOTAUTH, TSIG
  error BADKEY (17), unsigned; a new TKEY negotiation works.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from tests.harness import SUBNET, SUBNET6, make_netns, wait_for

SAMBA_TOOLS = ("samba", "samba-tool", "kinit", "nsupdate", "unshare", "nsenter")

#: empty and private inside samba's mount namespace (the smb.conf points everything elsewhere already)
HOST_SAMBA_DIRS = ("/run/samba", "/var/lib/samba", "/var/cache/samba", "/var/log/samba", "/etc/samba")

#: the master's host pid, for harness.remove_run_dir after an interrupted run
MASTER_PIDFILE = "samba-master.pid"


def reverse_zone(network: str) -> str:
    """The reverse zone of a network on an octet or nibble boundary (10.1.0.0/16: 1.10.in-addr.arpa)."""
    net = ipaddress.ip_network(network)
    if net.version == 4:
        octets = str(net.network_address).split(".")[: net.prefixlen // 8]
        return ".".join(reversed(octets)) + ".in-addr.arpa"
    nibbles = net.network_address.exploded.replace(":", "")[: net.prefixlen // 4]
    return ".".join(reversed(nibbles)) + ".ip6.arpa"


class SambaDc:
    """One AD domain (realm AD.TEST, zone ad.test) served by ``samba`` at ``address`` in network namespace ``netns``."""

    describe = "samba AD DC"

    def __init__(
        self,
        base: Path,
        netns: str,
        address: str = "127.0.0.10",
        realm: str = "AD.TEST",
        domain: str = "AD",
        host_name: str = "dc1",
        options: dict[str, str] | None = None,
    ):
        self.base = base
        self.netns = netns
        self.address = address
        self.realm = realm
        self.domain = domain
        self.host_name = host_name
        self.zone = realm.lower()
        #: smb.conf options beyond the bed's own (e.g. {"dns zone transfer clients allow": "127.0.0.0/8"})
        self.options = dict(options or {})
        self.targetdir = base / "dc"
        self.smb_conf = self.targetdir / "etc" / "smb.conf"
        self.krb5_config = base / "krb5.conf"
        self.resolv_conf = base / "resolv.conf"
        self.keytabs = base / "keytabs"
        self.log_path = base / "samba.log"
        self.password_file = base / "admin.pass"
        self.proc: subprocess.Popen | None = None
        self.master_pid: int | None = None
        self.accounts: dict[str, tuple[str, Path]] = {}
        #: seconds, as measured by provision() and the last start()
        self.provision_seconds: float | None = None
        self.start_seconds: float | None = None
        #: what create_reverse_zones made
        self.reverse_zones: list[str] = []

    # -- names ------------------------------------------------------------------

    @property
    def netns_path(self) -> str:
        return f"/var/run/netns/{self.netns}"

    @property
    def fqdn(self) -> str:
        return f"{self.host_name}.{self.zone}"

    @property
    def gss_principal(self) -> str:
        """The DNS service's principal: DNS/<the zone's SOA MNAME>@REALM."""
        return f"DNS/{self.soa_mname()}@{self.realm}"

    def enter(self) -> list[str]:
        """The prefix that runs a client inside the bed's network namespace."""
        return ["nsenter", f"--net={self.netns_path}"]

    def env(self, ccache: Path) -> dict[str, str]:
        """A client's environment: the bed's krb5.conf and the ccache ``ccache`` (never the default one)."""
        return {**os.environ, "KRB5_CONFIG": str(self.krb5_config), "KRB5CCNAME": f"FILE:{ccache}"}

    # -- set-up -----------------------------------------------------------------

    def _bed(self, command: str) -> list[str]:
        """``sh -ec command`` in the network namespace and a mount namespace of its own (see the module's doc)."""
        mounts = " && ".join(f"mount -t tmpfs -o mode=755 tmpfs {path}" for path in HOST_SAMBA_DIRS)
        setup = f"{mounts} && mount --bind {self.resolv_conf} /etc/resolv.conf"
        return [*self.enter(), "unshare", "--mount", "--propagation", "private", "sh", "-ec", f"{setup} && {command}"]

    def samba_tool(self, *args: str, stdin: str | None = None, env: dict | None = None) -> str:
        """``samba-tool ARGS -s <the bed's smb.conf>`` inside the bed; its output (raises on failure)."""
        command = "exec samba-tool " + " ".join(_quote(arg) for arg in (*args, "-s", str(self.smb_conf)))
        return self._run(command, stdin=stdin, env=env)

    def _run(self, command: str, stdin: str | None = None, env: dict | None = None) -> str:
        result = subprocess.run(
            self._bed(command),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "KRB5_CONFIG": str(self.krb5_config), **(env or {})},
        )
        if result.returncode != 0:
            raise RuntimeError(f"{command.split(' -s ')[0]} failed ({result.returncode}):\n{result.stderr[-3000:]}")
        return result.stdout + result.stderr

    def provision(self) -> None:
        """A new domain in ``targetdir`` (``samba-tool domain provision``); the time it took in provision_seconds."""
        make_netns(self.netns)
        subprocess.run(["ip", "-n", self.netns, "addr", "replace", f"{self.address}/8", "dev", "lo"], check=True)
        if self.targetdir.exists():
            shutil.rmtree(self.targetdir)
        self.base.mkdir(parents=True, exist_ok=True)
        self.keytabs.mkdir(mode=0o700, exist_ok=True)
        self.resolv_conf.write_text(f"nameserver {self.address}\nsearch {self.zone}\n")
        self.krb5_config.write_text(self.krb5_conf_text())
        # AD's default policy: 7 characters or more, from 3 of upper, lower, digits, others
        password = "Dn1-" + secrets.token_urlsafe(24)
        fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password)
        private = {
            "interfaces": self.address,
            "bind interfaces only": "yes",
            # provision copies the host's resolv.conf nameserver here; an empty one forwards nowhere
            "dns forwarder": "",
            "pid directory": str(self.targetdir / "run"),
            "ncalrpc dir": str(self.targetdir / "run" / "ncalrpc"),
            "ntp signd socket directory": str(self.targetdir / "run" / "ntp_signd"),
            "winbindd socket directory": str(self.targetdir / "run" / "winbindd"),
            "log file": str(self.targetdir / "log.%m"),
            **self.options,
        }
        args = [
            "domain",
            "provision",
            "--use-rfc2307",
            "--dns-backend=SAMBA_INTERNAL",
            f"--realm={self.realm}",
            f"--domain={self.domain}",
            "--server-role=dc",
            f"--host-name={self.host_name}",
            f"--host-ip={self.address}",
            f"--targetdir={self.targetdir}",
            *(f"--option={key} = {value}" for key, value in private.items()),
        ]
        # samba-tool is a Python script: run it with the password appended to its argv inside the process,
        # so the password is in no process's command line
        script = (
            "import sys; password = sys.stdin.readline().rstrip('\\n'); "
            "sys.argv = ['samba-tool', *sys.argv[1:], '--adminpass=' + password]; "
            "exec(compile(open('/usr/bin/samba-tool').read(), 'samba-tool', 'exec'))"
        )
        command = "exec /usr/bin/python3 -c " + _quote(script) + " " + " ".join(_quote(arg) for arg in args)
        began = time.monotonic()
        self._run(command, stdin=password + "\n")
        self.provision_seconds = time.monotonic() - began

    def krb5_conf_text(self) -> str:
        return (
            "[libdefaults]\n"
            f"\tdefault_realm = {self.realm}\n"
            "\tdns_lookup_realm = false\n"
            "\tdns_lookup_kdc = false\n"
            "\trdns = false\n"
            "\tdns_canonicalize_hostname = false\n"
            "[realms]\n"
            f"\t{self.realm} = {{\n"
            f"\t\tkdc = {self.address}\n"
            f"\t\tadmin_server = {self.address}\n"
            "\t}\n"
            "[domain_realm]\n"
            f"\t.{self.zone} = {self.realm}\n"
            f"\t{self.zone} = {self.realm}\n"
        )

    # -- the server -------------------------------------------------------------

    def command(self) -> list[str]:
        """samba in the foreground, init of a PID namespace of its own (``unshare --fork``: the Popen's is unshare)."""
        bed = self._bed(f"exec samba --foreground --no-process-group --debug-stdout -s {_quote(str(self.smb_conf))}")
        # _bed's own unshare makes the mount namespace; this one adds the PID namespace around it
        nsenter, unshare_at = bed[:2], bed.index("unshare")
        return [
            *nsenter,
            "unshare",
            "--pid",
            "--fork",
            "--kill-child=SIGKILL",
            "--mount-proc",
            *bed[unshare_at + 1 :],
        ]

    def start(self, timeout: float = 120.0) -> None:
        """Start samba and wait until its DNS answers the zone's SOA; the time it took in start_seconds."""
        if not self.smb_conf.exists():
            self.provision()
        log = open(self.log_path, "ab")
        began = time.monotonic()
        self.proc = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "KRB5_CONFIG": str(self.krb5_config)},
        )
        log.close()
        unshare = self.proc.pid
        self.master_pid = wait_for(lambda: _only_child(unshare), 10, 0.01)
        if self.master_pid:
            (self.base / MASTER_PIDFILE).write_text(f"{self.master_pid}\n")
        if not wait_for(self._answers, timeout, 0.1):
            tail = self.log_tail()
            self.stop()
            raise RuntimeError(f"{self.describe} did not come up:\n{tail}")
        self.start_seconds = time.monotonic() - began

    def _answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"samba exited ({self.proc.returncode}): " + self.log_tail())
        try:
            response = self.udp(dns.message.make_query(self.zone, "SOA"), timeout=0.5)
        except Exception:
            return False
        return response.rcode() == dns.rcode.NOERROR and bool(response.answer)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM to samba (the PID namespace's init), then SIGKILL: its namespace, with every worker, goes with it."""
        if self.proc is None:
            return
        if self.master_pid and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.master_pid, signal.SIGTERM)
            if not wait_for(lambda: self.proc.poll() is not None, timeout, 0.05):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.master_pid, signal.SIGKILL)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # unshare: its --kill-child takes samba with it
            self.proc.wait(timeout=10)
        self.proc = None
        self.master_pid = None
        (self.base / MASTER_PIDFILE).unlink(missing_ok=True)

    def restart(self, timeout: float = 120.0) -> None:
        self.stop()
        self.start(timeout)

    def processes(self) -> list[int]:
        """The host pids of every process in samba's PID namespace (empty when it is stopped)."""
        if self.master_pid is None:
            return []
        try:
            namespace = os.readlink(f"/proc/{self.master_pid}/ns/pid")
        except OSError:
            return []
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if os.readlink(entry / "ns" / "pid") == namespace:
                        found.append(int(entry.name))
        return found

    def memory_kib(self) -> int:
        """The proportional set size (PSS) of all its processes, in KiB."""
        total = 0
        for pid in self.processes():
            with contextlib.suppress(OSError), open(f"/proc/{pid}/smaps_rollup") as handle:
                total += sum(int(line.split()[1]) for line in handle if line.startswith("Pss:"))
        return total

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except FileNotFoundError:
            return ""

    # -- accounts and zones -----------------------------------------------------

    def account_keytab(self, name: str) -> tuple[str, Path]:
        """A user ``name`` with a random password, and a keytab holding its keys: (principal, keytab path)."""
        if name not in self.accounts:
            principal = f"{name}@{self.realm}"
            keytab = self.keytabs / f"{name}.keytab"
            keytab.unlink(missing_ok=True)
            self.samba_tool("user", "add", name, "--random-password")
            self.samba_tool("domain", "exportkeytab", str(keytab), f"--principal={principal}")
            keytab.chmod(0o600)
            self.accounts[name] = (principal, keytab)
        return self.accounts[name]

    def create_zone(self, zone: str) -> None:
        """A zone of AD's (``samba-tool dns zonecreate``, over RPC to the running DC, as Administrator)."""
        self.samba_tool(
            "dns",
            "zonecreate",
            self.address,
            zone,
            "-U",
            "Administrator",
            env={"PASSWD": self.password_file.read_text()},
        )

    def create_reverse_zone(self, zone: str) -> str:
        """A reverse zone (``1.10.in-addr.arpa``), or the one of a network (``10.1.0.0/16``); returns its name."""
        if "/" in zone:
            zone = reverse_zone(zone)
        self.create_zone(zone)
        return zone

    def create_reverse_zones(self) -> list[str]:
        """The reverse zones of the harness's container subnets (SUBNET, SUBNET6)."""
        self.reverse_zones = [self.create_reverse_zone(network) for network in (SUBNET, SUBNET6)]
        return self.reverse_zones

    # -- talking to it as a client ----------------------------------------------

    def kinit(self, principal: str, keytab: Path, ccache: Path) -> None:
        """A TGT for ``principal`` from ``keytab`` into ``ccache`` (inside the namespace: the KDC is there)."""
        subprocess.run(
            [*self.enter(), "kinit", "-k", "-t", str(keytab), principal],
            env=self.env(ccache),
            check=True,
            capture_output=True,
            timeout=30,
        )

    def nsupdate(self, commands: list[str], ccache: Path | None = None) -> tuple[str, str]:
        """``nsupdate`` (``-g`` with ``ccache``, else unsigned) with ``commands`` to this server and zone, inside the
        namespace; returns (the rcode of the answer, the output). Its exit status says nothing here: Samba's signed
        answers fail BIND's TSIG check, so nsupdate exits 2 after an update that was applied (module doc)."""
        script = "\n".join([f"server {self.address}", *commands, "send", "answer", ""])
        result = subprocess.run(
            [*self.enter(), "nsupdate", *(["-g"] if ccache else [])],
            input=script,
            env=self.env(ccache or self.base / "no-ccache"),
            capture_output=True,
            text=True,
            timeout=60,
        )
        output = result.stdout + result.stderr
        statuses = re.findall(r"opcode: UPDATE, status: (\w+)", output)
        return (statuses[-1] if statuses else "no answer"), output

    def udp(self, message: dns.message.Message, timeout: float = 2.0) -> dns.message.Message:
        from dockernet.ddns import socket_in_namespace

        with socket_in_namespace(self.netns_path, socket.AF_INET) as sock:
            return dns.query.udp(message, self.address, timeout=timeout, sock=sock)

    def tcp(self, message: dns.message.Message, timeout: float = 5.0) -> dns.message.Message:
        from dockernet.ddns import socket_in_namespace

        with socket_in_namespace(self.netns_path, socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect((self.address, 53))
            sock.setblocking(False)  # dnspython's timeouts only work on non-blocking sockets
            return dns.query.tcp(message, self.address, timeout=timeout, sock=sock)

    def query(self, name: str, rdtype: str = "A") -> set[str]:
        """The RRset's data as strings; empty when the name or type does not exist. A relative name is in the zone."""
        fqdn = dns.name.from_text(name, origin=dns.name.from_text(self.zone))
        response = self.udp(dns.message.make_query(fqdn, rdtype))
        rrset = response.get_rrset(response.answer, fqdn, dns.rdataclass.IN, dns.rdatatype.from_text(rdtype))
        return {rdata.to_text() for rdata in rrset} if rrset else set()

    def soa_mname(self, zone: str | None = None) -> str:
        response = self.udp(dns.message.make_query(zone or self.zone, "SOA"))
        return response.answer[0][0].mname.to_text(omit_final_dot=True)


def _only_child(pid: int) -> int | None:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if len(children) == 1 else None


def _quote(text: str) -> str:
    return shlex.quote(text)
