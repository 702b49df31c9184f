"""``dockernet dns``: provision, check, list, sync and purge the DNS side."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import click

from dockernet.cli.hostonly import refuse_in_image
from dockernet.cli.params import CIDR, IP, KEY_NAME, OWNER_ID, ZONE, dns_options, owner_options


@click.group()
def dns() -> None:
    """Provision and inspect the DNS side."""


@dns.command("init")
@click.option("--zone", type=ZONE, required=True, help="Zone to serve, e.g. docker.test.")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory for named.conf, the zone files and the key.",
)
@click.option("--listen", type=IP, default="127.0.0.1", show_default=True, help="Address named listens on.")
@click.option("--port", type=click.IntRange(1, 65535), default=53, show_default=True, help="Port named listens on.")
@click.option(
    "--subnet",
    "subnets",
    type=CIDR,
    multiple=True,
    help="Container subnet (CIDR, IPv4 or IPv6; repeatable): also serve its reverse zone.",
)
@click.option("--key-name", type=KEY_NAME, default="ddns-key", show_default=True, help="Name of the TSIG key.")
@click.option(
    "--algorithm",
    type=click.Choice(["hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"]),
    default="hmac-sha256",
    show_default=True,
    help="HMAC algorithm of the key.",
)
@click.option(
    "--transfer/--no-transfer",
    "allow_transfer",
    default=True,
    show_default=True,
    help="Let the key transfer the zone (AXFR), so the watcher can find its stale records in one sweep.",
)
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@click.option(
    "--conf-only",
    is_flag=True,
    help="Rewrite only named.conf (e.g. for another --port), keeping the key and the zone files "
    "with the records they hold.",
)
@click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="Print nothing but errors (for scripts that start named and the watcher themselves).",
)
def dns_init(zone, directory, listen, port, subnets, key_name, algorithm, allow_transfer, force, conf_only, quiet):
    """Write a TSIG key (mode 0600), a zone file and a named.conf that lets the key update the zone.

    The result runs as it is: named -g -c DIR/named.conf
    """
    # loaded when the command runs: --help and shell completion import click alone
    from dockernet.host.dnsinit import KEY_FILE, InitSpec, new_secret, reconfigure, render_all, write_files

    refuse_in_image("dns init")
    spec = InitSpec(
        zone=zone,
        directory=directory,
        listen=listen,
        port=port,
        subnets=tuple(subnets),
        key_name=key_name,
        algorithm=algorithm,
        allow_transfer=allow_transfer,
    )
    if conf_only:
        written = reconfigure(spec)
    else:
        written = write_files(directory, render_all(spec, new_secret(algorithm)), force)
    if quiet:
        return
    for path in written:
        click.echo(f"wrote {path}")
    conf = directory.resolve() / "named.conf"
    port_opt = f" --port {port}" if port != 53 else ""
    click.echo(f"start named:    named -g -c {conf}")
    click.echo(
        f"start watching: dockernet watch --zone {zone.to_text(omit_final_dot=True)} --server {listen}{port_opt} "
        f"--key-file {directory.resolve() / KEY_FILE}"
    )


@dns.command("check")
@dns_options
@click.pass_obj
def dns_check(obj, settings):
    """Check that the server will take this key's updates: zones, update rights, zone transfer.

    Probes with an UPDATE whose prerequisite cannot hold, so nothing
    changes. Each finding is one line, with the named.conf fix where
    something is missing. Exit 0 only when updates will work.
    """
    # loaded when the command runs: --help and shell completion import click alone
    from dockernet.host.dnscheck import check, updates_work
    from dockernet.runtime import build

    runtime = build(settings, obj["docker_host"], read_only=True)
    runtime.resolve_reverse_zones()
    findings = check(runtime.nameserver)
    click.echo("\n".join(finding.line() for finding in findings))
    sys.exit(0 if updates_work(findings) else 1)


@dns.command("ls")
@dns_options
@click.option("--owner", "list_owner", type=OWNER_ID, help="List this owner's records instead of this watcher's.")
@click.option("--all", "list_all", is_flag=True, help="List every owner's records.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def dns_ls(obj, settings, list_owner, list_all, as_json):
    """The records dockernet wrote, with their container and whether it still runs.

    Every owner's records can be listed where the key may transfer the zone;
    without that, this watcher's own names are looked up one by one from its
    journal. Another owner's containers are on another host: 'other owner'.
    """
    # loaded when the command runs: --help and shell completion import click alone
    import json

    from dockernet.host.dnstools import list_records, render_ls
    from dockernet.runtime import build

    owner = None if list_all else (list_owner or settings.owner_id)
    runtime = build(replace(settings, owner_id=owner or settings.owner_id), obj["docker_host"], read_only=True)
    runtime.resolve_reverse_zones()
    rows = list_records(runtime, owner, settings.owner_id)
    click.echo(json.dumps(rows, indent=2) if as_json else render_ls(rows, settings.owner_id), nl=as_json or bool(rows))


@dns.command("sync")
@dns_options
@click.option(
    "--dry-run", is_flag=True, help="Print the UPDATEs in nsupdate syntax, prerequisites included; send nothing."
)
@owner_options
@click.option(
    "--force", is_flag=True, help="With --adopt-owner: adopt OLD's names although its lease shows its watcher running."
)
@click.pass_obj
def dns_sync(obj, settings, dry_run, take_over_owner, adopt_owner, force):
    """One reconcile, the same path the watcher takes (watch --once).

    Next to this owner id's running watcher it runs too, and leaves the
    lease to that watcher (sending the watcher SIGHUP resyncs it as well).
    """
    # loaded when the command runs: --help and shell completion import click alone
    from dockernet.host.dnstools import render_nsupdate
    from dockernet.logformat import setup_logging
    from dockernet.runtime import build, build_watcher, watch_options

    if force and not adopt_owner:
        raise click.UsageError("--force only applies to --adopt-owner")
    setup_logging(None)  # stdout carries the nsupdate script
    options = watch_options(settings, adopt_owner=adopt_owner, adopt_force=force)
    runtime = build(replace(settings, take_over_owner=take_over_owner), obj["docker_host"], read_only=dry_run)
    if not dry_run:
        sys.exit(0 if build_watcher(runtime, options).once() else 1)
    runtime.engine.ping()
    runtime.resolve_reverse_zones()
    changes = runtime.reconciler.preview(runtime.engine.running())
    click.echo(render_nsupdate(changes, runtime.nameserver) if changes else "; nothing to do\n", nl=False)


@dns.command("purge")
@dns_options
@click.option("--owner", "purge_owner", type=OWNER_ID, help="Remove this owner's records instead of this watcher's.")
@click.option("--dry-run", is_flag=True, help="Print the UPDATEs in nsupdate syntax; send nothing.")
@click.option(
    "--force",
    is_flag=True,
    help="With --owner: purge, and remove the lease, although the lease shows its watcher running.",
)
@click.pass_obj
def dns_purge(obj, settings, purge_owner, dry_run, force):
    """Remove everything one owner wrote, PTRs included, and nothing else (each delete checks the owner's mark).

    Then its lease goes too, so the owner leaves 'dns ls --all': the way to
    retire a host, from any host. A purge --owner of an owner whose watcher
    still runs (it would publish its records again) is refused, naming that
    watcher, unless --force; this watcher's own purge keeps the lease then.
    """
    # loaded when the command runs: --help and shell completion import click alone
    from dockernet.host.dnstools import render_nsupdate
    from dockernet.logformat import setup_logging
    from dockernet.runtime import build

    if force and not purge_owner:
        raise click.UsageError("--force only applies to --owner")
    setup_logging(None)
    runtime = build(replace(settings, owner_id=purge_owner or settings.owner_id), obj["docker_host"], read_only=dry_run)
    runtime.resolve_reverse_zones()
    reconciler = runtime.reconciler
    if dry_run:
        reconciler.find_owner_reverse_zones()
        changes = reconciler.preview([])
        click.echo(render_nsupdate(changes, runtime.nameserver) if changes else "; nothing to do\n", nl=False)
        return
    # loaded when the command runs: --help and shell completion import click alone
    import time

    from dockernet.sync.leaseholder import Process, refuse_if_running
    from dockernet.sync.leases import read_lease, retire

    runtime.nameserver.probe()
    here = Process.this()
    if purge_owner and not force:  # before anything is removed
        refuse_if_running(read_lease(runtime.nameserver, purge_owner)[0], here, time.time(), "purging its records")
    if not reconciler.purge():
        sys.exit(1)
    retire(runtime.nameserver, runtime.settings.owner_id, here=here, force=force)
