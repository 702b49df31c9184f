"""``watch --gss-tsig`` against named with tkey-gssapi-keytab and an MIT KDC (tests/kerberos.py): real tickets,
real TKEY negotiations, real update-policy verdicts.

The watcher gets its tickets from a keytab into a cache of its own; its
environment names the bed's krb5.conf, whose default cache is a file in the
run dir, so a ticket written to "the user's cache" would show up there.
"""

import time

from tests.harness import run_cli, wait_for
from tests.kerberos import CLOCKSKEW, DENIED, HOST1, HOST2, SHORT, GssClient, kerberos_env
from tests.support import ptr_name

REV4 = "1.10.in-addr.arpa"


def _gss(kdc, keytabs, named_krb, who):
    return GssClient(named_krb.zone, named_krb.port, keytabs[who], kdc.principal(who))


def _env(kdc):
    """The bed's krb5.conf and no KRB5CCNAME: the default cache would be the bed's default.ccache."""
    return kerberos_env(kdc.krb5_config)


def test_watch_publishes_with_kerberos_and_sets_a_name_outside_the_grant_aside(
    kdc, keytabs, named_krb, containers, watchers, label, dockerd
):
    default_cache = kdc.dir / "default.ccache"
    watcher = watchers(
        server=_gss(kdc, keytabs, named_krb, HOST1), extra=("--settle-time", "1", "--reverse-zone", REV4)
    ).start(env=_env(kdc))
    assert f"via 127.0.0.1#{named_krb.port} with GSS-TSIG as Kerberos principal '{HOST1}@KRB.TEST'" in (
        watcher.log_text()
    )
    web = containers(hostname=label)
    address = dockerd.address_of(web)
    assert wait_for(lambda: named_krb.query(label) == {address}), watcher.log_text()[-2000:]
    assert wait_for(lambda: named_krb.query(ptr_name(address), "PTR") == {f"{label}.{named_krb.zone}."})
    assert named_krb.query(label, "TXT") == {f'"heritage=dockernet,owner={watcher.owner},container={web.id[:12]}"'}
    assert f"/key {HOST1}\\@KRB.TEST: updating zone 'docker.test/IN': adding an RR at '{label}.docker.test' A" in (
        named_krb.log_text()
    )
    # the update-policy denies HOST1 one name: that container alone is set aside, the next one is published
    outside = containers(hostname=DENIED)
    after = containers(hostname=f"{label}-after")
    assert wait_for(lambda: named_krb.query(f"{label}-after") == {dockerd.address_of(after)})
    assert wait_for(lambda: f"{DENIED}.docker.test" in watcher.log_text() and "REFUSED" in watcher.log_text())
    assert named_krb.query(DENIED) == set() and dockerd.address_of(outside)
    web.remove(force=True)
    assert wait_for(lambda: named_krb.query(label) == set() and named_krb.query(ptr_name(address), "PTR") == set())
    assert watcher.terminate() == 0
    assert not default_cache.exists(), "the watcher wrote a ticket into the default credentials cache"


def test_an_ungranted_principal_is_refused_at_start_in_one_line(kdc, keytabs, named_krb, watchers):
    watcher = watchers(server=_gss(kdc, keytabs, named_krb, HOST2)).start(wait=False, env=_env(kdc))
    assert watcher.proc.wait(timeout=60) != 0
    lines = watcher.stderr_text().strip().splitlines()
    assert len(lines) == 1, lines
    assert f"Kerberos principal '{HOST2}@KRB.TEST'" in lines[0] and "REFUSED" in lines[0], lines[0]
    assert "Traceback" not in watcher.stderr_text()


def test_short_tickets_still_publish_after_the_ticket_and_the_servers_key_expired(
    kdc, keytabs, named_krb, containers, watchers, label, dockerd
):
    """30 s tickets, named's clock skew 10 s: named drops each key 40 s after its ticket was issued, and MIT
    signs with a dead context regardless; the watcher negotiates anew before that, from the keytab."""
    watcher = watchers(server=_gss(kdc, keytabs, named_krb, SHORT)).start(env=_env(kdc))
    first = containers(hostname=f"{label}-1")
    assert wait_for(lambda: named_krb.query(f"{label}-1") == {dockerd.address_of(first)}), watcher.log_text()[-2000:]
    # every key negotiated so far was made with a ticket issued by now: past this moment none is left at named
    expired = time.time() + 30 + CLOCKSKEW + 2
    assert wait_for(lambda: time.time() > expired, timeout=60, interval=0.5)
    second = containers(hostname=f"{label}-2")
    assert wait_for(lambda: named_krb.query(f"{label}-2") == {dockerd.address_of(second)}), watcher.log_text()[-2000:]
    log = watcher.log_text()
    assert "Negotiated a new GSS-TSIG key" in log, log[-2000:]
    assert "BADKEY" not in log and "Error" not in log, log[-2000:]
    assert watcher.terminate() == 0


def test_a_zone_transfer_signed_with_kerberos_reads_the_zone(run_dir, kdc, keytabs, named_krb, tmp_path):
    """A named that allows transfers by address: `dns ls --all` reads the zone by an AXFR signed with the
    negotiated key (its answer verified with the same context), not name by name."""
    from tests.kerberos import KerberizedNamed, bed_policy

    server = KerberizedNamed(run_dir[0], kdc, bed_policy, name="named-krb-axfr")
    server.provision()
    conf = server.dir / "named.conf"
    conf.write_text(conf.read_text().replace('allow-transfer { key "ddns-key"; };', "allow-transfer { 127.0.0.1; };"))
    server.start()
    try:
        gss = _gss(kdc, keytabs, server, HOST1)
        marked = '"heritage=dockernet,owner=elsewhere,container=0123456789ab"'
        env = kdc.kinit(HOST1, keytabs[HOST1], tmp_path / "nsupdate.ccache")
        added = server.nsupdate(
            env, f"update add far.{server.zone} 60 A 10.1.9.9", f"update add far.{server.zone} 60 TXT {marked}"
        )
        assert added.returncode == 0, added.stdout + added.stderr
        listed = run_cli(
            *("dns", "ls", "--all", *gss.client_args(), "--state-dir", str(tmp_path / "state")),
            env={"KRB5_CONFIG": str(kdc.krb5_config)},
        )
        assert listed.returncode == 0, listed.stdout + listed.stderr
        assert f"far.{server.zone}." in listed.stdout and "(other owner)" in listed.stdout, listed.stdout
        assert "not allowed" not in listed.stdout + listed.stderr
        axfr = [line for line in server.log_text().splitlines() if "AXFR started" in line]
        assert len(axfr) == 1 and f"/key {HOST1}\\@KRB.TEST ({server.zone}): transfer of" in axfr[0], axfr
        assert "TSIG " in axfr[0] and ".sig-dockernet" in axfr[0]  # signed with the negotiated key
    finally:
        server.stop()
