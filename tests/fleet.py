"""A fleet on one machine: several Docker engines and a primary + secondary BIND, all in namespaces of the test's own.

* ``FleetDns``: named as the zone's primary on 127.0.0.3 and as its
  secondary on 127.0.0.4, both port 53, inside namespace ``dnt-<pid>-dns``
  (named listens only on addresses an interface has, so both are added to
  that namespace's ``lo``). The primary NOTIFYs the secondary at once
  (``notify-delay 0``; BIND waits 5 s by default), which follows by IXFR.
  The primary is configured by ``dockernet dns init``; the zone's
  SOA names ``ns.<zone>`` (127.0.0.3) and its NS records both servers.
* ``fleet_engine``: a ``PrivateDockerd`` in namespace ``dnt-<pid>-eN`` with
  a bridge subnet of its own.

Watchers run inside the DNS namespace (``WatcherProcess(netns=...)``) and
reach their engine through its unix socket, which no namespace hides.
"""

from __future__ import annotations

from pathlib import Path

from tests.harness import ZONE, PrivateDockerd, PrivateNamed, ip, make_netns, run_cli, wait_for

PRIMARY = "127.0.0.3"
SECONDARY = "127.0.0.4"


class FleetDns:
    def __init__(self, base: Path, netns: str, zone: str = ZONE):
        self.netns = netns
        self.zone = zone
        self.primary = PrivateNamed(base, zone=zone, name="fleet-primary", netns=netns, address=PRIMARY, port=53)
        self.secondary = PrivateNamed(base, zone=zone, name="fleet-secondary", netns=netns, address=SECONDARY, port=53)
        self.key_file = self.primary.key_file

    def start(self) -> None:
        make_netns(self.netns)
        for address in (PRIMARY, SECONDARY):
            ip("-n", self.netns, "addr", "replace", f"{address}/32", "dev", "lo")
        self._configure_primary()
        self._configure_secondary()
        self.primary.start()
        self.secondary.start()
        assert wait_for(lambda: self.secondary.serial() == self.primary.serial(), 20), (
            "the secondary did not load the zone"
        )

    def stop(self) -> None:
        self.secondary.stop()
        self.primary.stop()

    def _configure_primary(self) -> None:
        primary = self.primary
        run_cli(
            "dns",
            "init",
            "--zone",
            self.zone,
            "--dir",
            str(primary.dir),
            "--listen",
            PRIMARY,
            "--port",
            "53",
            "--force",
            check=True,
        )
        conf = primary.dir / "named.conf"
        conf.write_text(
            conf.read_text().replace(
                "\trecursion no;\n",
                f"\trecursion no;\n\tnotify explicit;\n\talso-notify {{ {SECONDARY}; }};\n\tnotify-source {PRIMARY};\n"
                "\tnotify-delay 0;\n"
                f"\ttransfer-source {PRIMARY};\n",
            )
        )
        zone_file = primary.dir / f"{self.zone}.zone"
        zone_file.write_text(zone_file.read_text() + f"@\tIN NS ns2.{self.zone}.\nns2\tIN A {SECONDARY}\n")

    def _configure_secondary(self) -> None:
        directory = self.secondary.dir.resolve()
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "named.conf").write_text(
            f'include "{self.primary.key_file.resolve()}";\n'
            "options {\n"
            f'\tdirectory "{directory}";\n'
            f'\tpid-file "{directory / "named.pid"}";\n'
            f'\tsession-keyfile "{directory / "session.key"}";\n'
            f"\tlisten-on port 53 {{ {SECONDARY}; }};\n"
            "\tlisten-on-v6 { none; };\n"
            "\trecursion no;\n"
            "\tdnssec-validation no;\n"
            f"\ttransfer-source {SECONDARY};\n"
            f"\tnotify-source {SECONDARY};\n"
            "\tnotify no;\n"
            "};\n"
            "controls { };\n"
            f'zone "{self.zone}" {{\n'
            "\ttype secondary;\n"
            f'\tfile "{self.zone}.zone";\n'
            f'\tprimaries {{ {PRIMARY} key "ddns-key"; }};\n'
            f"\tallow-notify {{ {PRIMARY}; }};\n"
            '\tallow-transfer { key "ddns-key"; };\n'
            "};\n"
        )


def fleet_engine(base: Path, netns: str, index: int) -> PrivateDockerd:
    """Engine number ``index`` of the fleet, with bridge 10.1<index>.0.1/16 in its own namespace."""
    engine = PrivateDockerd(base / f"engine{index}", f"{netns}-e{index}", bip=f"10.{10 + index}.0.1/16")
    engine.start()
    engine.import_busybox()
    return engine
