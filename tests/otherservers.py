"""RFC 2136 servers other than BIND, for the same tests: Knot DNS and the PowerDNS Authoritative Server.

Each is provisioned in a temp dir with the key and zone ``dockernet dns init``
writes for BIND (the key file's secret, the zone file), on 127.0.0.1 and a
free high port, in the foreground, and stopped by its pid. They offer the
interface of ``harness.PrivateNamed`` that ``WatcherProcess`` and the tests
use (``port``, ``zone``, ``key_file``, ``query``).

* Knot: an ACL lets the key update and transfer the zone; the serial is
  incremented on every update (Knot's default ``serial-policy``).
* PowerDNS (gsqlite3 backend): ``dnsupdate=yes``, the zone's metadata
  ``TSIG-ALLOW-DNSUPDATE`` and ``TSIG-ALLOW-AXFR`` name the key; the
  serial is left to PowerDNS's default ``SOA-EDIT-DNSUPDATE`` (seen here:
  0, then 2026112901, 2026112902 on each update).
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

from tests.harness import PrivateNamed, free_port, run_cli

KNOT_TOOLS = ("knotd",)
PDNS_TOOLS = ("pdns_server", "pdnsutil")
PDNS_SCHEMA = Path("/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql")


def secret_of(key_file: Path) -> str:
    return re.search(r'secret\s+"([^"]+)"', key_file.read_text()).group(1)


class _OtherServer(PrivateNamed):
    """What the two have in common: ``dns init``'s key and zone, and all of PrivateNamed but the program."""

    def provision(self) -> None:
        self.port = free_port()
        run_cli(
            "dns", "init", "--zone", self.zone, "--dir", str(self.dir), "--port", str(self.port), "--force", check=True
        )
        self.configure()

    def configure(self) -> None:
        raise NotImplementedError


class PrivateKnot(_OtherServer):
    program = "knotd"

    def configure(self) -> None:
        storage = self.dir.resolve()
        (storage / "knot.conf").write_text(
            "server:\n"
            f'    rundir: "{storage}"\n'
            f"    listen: 127.0.0.1@{self.port}\n"
            "log:\n"
            "  - target: stderr\n"
            "    any: info\n"
            "database:\n"
            f'    storage: "{storage}"\n'
            "key:\n"
            "  - id: ddns-key\n"
            "    algorithm: hmac-sha256\n"
            f"    secret: {secret_of(self.key_file)}\n"
            "acl:\n"
            "  - id: dockernet\n"
            "    key: ddns-key\n"
            "    action: [update, transfer]\n"
            "zone:\n"
            f"  - domain: {self.zone}\n"
            f'    storage: "{storage}"\n'
            f'    file: "{self.zone}.zone"\n'
            "    acl: dockernet\n"
        )

    def command(self) -> list[str]:
        return ["knotd", "-c", str(self.dir.resolve() / "knot.conf")]


class PrivatePowerDns(_OtherServer):
    program = "pdns_server"

    def configure(self) -> None:
        directory = self.dir.resolve()
        database = directory / "pdns.sqlite3"
        database.unlink(missing_ok=True)
        with sqlite3.connect(database) as db:
            db.executescript(PDNS_SCHEMA.read_text())
        (directory / "pdns.conf").write_text(
            "launch=gsqlite3\n"
            f"gsqlite3-database={database}\n"
            "local-address=127.0.0.1\n"
            f"local-port={self.port}\n"
            f"socket-dir={directory}\n"
            "daemon=no\n"
            "guardian=no\n"
            "dnsupdate=yes\n"
            "allow-dnsupdate-from=127.0.0.0/8\n"
            "disable-axfr=no\n"
            "allow-axfr-ips=127.0.0.0/8\n"
            "loglevel=4\n"
        )
        secret = secret_of(self.key_file)
        for args in (
            ("create-zone", self.zone, f"ns.{self.zone}"),
            ("add-record", self.zone, "ns", "A", "127.0.0.1"),
            ("import-tsig-key", "ddns-key", "hmac-sha256", secret),
            ("set-meta", self.zone, "TSIG-ALLOW-DNSUPDATE", "ddns-key"),
            ("set-meta", self.zone, "TSIG-ALLOW-AXFR", "ddns-key"),
        ):
            subprocess.run(["pdnsutil", f"--config-dir={directory}", *args], check=True, capture_output=True)

    def command(self) -> list[str]:
        return ["pdns_server", f"--config-dir={self.dir.resolve()}"]


def available(tools: tuple[str, ...]) -> bool:
    return all(shutil.which(tool) for tool in tools)
