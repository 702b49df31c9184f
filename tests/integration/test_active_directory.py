"""``watch --gss-tsig`` against Active Directory DNS: a real Samba AD DC (tests/samba.py), whose zones take
only Kerberos-signed updates ("secure only") and refuse zone transfers.

The watcher runs inside the DC's network namespace, as a host on its LAN
would, with a user account's keytab; the private dockerd is reached by its
socket. AD keeps each name as an object owned by the account that made it.
"""

import pytest

from tests.harness import run_cli, wait_for
from tests.kerberos import GssClient
from tests.support import ipv6_of, ptr_name


@pytest.fixture
def ad_watcher(samba_dc, watchers):
    """``watchers`` for the DC: (account, **WatcherProcess kwargs) -> a watcher signing as that account."""

    def make(account="host1", **kwargs):
        principal, keytab = samba_dc.account_keytab(account)
        server = GssClient(samba_dc.zone, 53, keytab, principal)
        return watchers(server=server, netns=samba_dc.netns, **kwargs)

    return make


def _env(samba_dc, workdir):
    return {"KRB5_CONFIG": str(samba_dc.krb5_config), "KRB5CCNAME": f"FILE:{workdir / 'never.ccache'}"}


def _mark(owner, container):
    return f'"heritage=dockernet,owner={owner},container={container.id[:12]}"'


def test_watch_publishes_a_aaaa_ptr_and_srv_into_active_directory_and_removes_them(
    samba_dc, ad_watcher, containers, dockerd, label
):
    watcher = ad_watcher(extra=("--settle-time", "1", "--reverse-zone", "auto"))
    watcher.server = samba_dc.address
    watcher.start(env=_env(samba_dc, watcher.workdir))
    log = watcher.log_text()
    assert f"with GSS-TSIG as Kerberos principal 'host1@{samba_dc.realm}'" in log, log
    web = containers(
        hostname=label, ports={"80/tcp": None}, labels={"dockernet.srv": "true", "dockernet.srv.80": "http"}
    )
    v4, v6 = dockerd.address_of(web), ipv6_of(dockerd, web)
    fqdn = f"{label}.{samba_dc.zone}."
    assert wait_for(lambda: samba_dc.query(label) == {v4}, timeout=30), watcher.log_text()[-2000:]
    assert wait_for(lambda: samba_dc.query(label, "AAAA") == {v6}), watcher.log_text()[-2000:]
    assert wait_for(lambda: samba_dc.query(ptr_name(v4), "PTR") == {fqdn}), watcher.log_text()[-2000:]
    assert wait_for(lambda: samba_dc.query(ptr_name(v6), "PTR") == {fqdn}), watcher.log_text()[-2000:]
    assert wait_for(lambda: samba_dc.query(f"_http._tcp.{label}", "SRV") == {f"0 0 80 {fqdn}"}), watcher.log_text()[
        -2000:
    ]
    assert samba_dc.query(label, "TXT") == {_mark(watcher.owner, web)}
    # Active Directory answers a transfer with no zone: the watcher works from its journal, and says so
    assert "transfer" in watcher.log_text()
    web.remove(force=True)
    assert wait_for(
        lambda: (
            samba_dc.query(label) == set()
            and samba_dc.query(label, "AAAA") == set()
            and samba_dc.query(ptr_name(v4), "PTR") == set()
            and samba_dc.query(f"_http._tcp.{label}", "SRV") == set()
        ),
        timeout=30,
    ), watcher.log_text()[-2000:]
    assert watcher.terminate() == 0
    assert not (watcher.workdir / "never.ccache").exists()


def test_another_owners_records_are_left_alone(samba_dc, ad_watcher, containers, label, tmp_path):
    """A name another dockernet host (another account, another owner id) published stays as it is."""
    principal, keytab = samba_dc.account_keytab("host2")
    ccache = tmp_path / "host2.ccache"
    samba_dc.kinit(principal, keytab, ccache)
    other = f"{label}-theirs"
    theirs = '"heritage=dockernet,owner=elsewhere,container=0123456789ab"'
    rcode, output = samba_dc.nsupdate(
        [
            f"update add {other}.{samba_dc.zone} 60 A 10.1.250.250",
            f"update add {other}.{samba_dc.zone} 60 TXT {theirs}",
        ],
        ccache=ccache,
    )
    assert rcode == "NOERROR", output
    watcher = ad_watcher()
    watcher.server = samba_dc.address
    watcher.start(env=_env(samba_dc, watcher.workdir))
    clash = containers(hostname=other)
    assert wait_for(lambda: "is owned by elsewhere; not taking it" in watcher.log_text(), timeout=30), (
        watcher.log_text()[-2000:]
    )
    clash.remove(force=True)
    assert watcher.terminate() == 0
    assert samba_dc.query(other) == {"10.1.250.250"} and samba_dc.query(other, "TXT") == {theirs}


def test_a_restarted_dc_forgets_the_key_and_no_change_is_lost(samba_dc, ad_watcher, containers, dockerd, label):
    """A restart drops every negotiated key: the next UPDATE gets BADKEY, a new key is negotiated and the
    change made meanwhile is published."""
    watcher = ad_watcher()
    watcher.server = samba_dc.address
    watcher.start(env=_env(samba_dc, watcher.workdir))
    before = containers(hostname=f"{label}-before")
    assert wait_for(lambda: samba_dc.query(f"{label}-before") == {dockerd.address_of(before)}, timeout=30)
    samba_dc.stop()
    during = containers(hostname=f"{label}-during")  # started while the DC is down
    samba_dc.start()
    assert wait_for(lambda: samba_dc.query(f"{label}-during") == {dockerd.address_of(during)}, timeout=90), (
        watcher.log_text()[-3000:]
    )
    log = watcher.log_text()
    assert "rejected the key of Kerberos principal 'host1@AD.TEST' (BADKEY): negotiating a new one" in log, log[-3000:]
    assert samba_dc.query(f"{label}-before") == {dockerd.address_of(before)}
    assert watcher.terminate() == 0


def test_dns_check_says_who_signs_and_that_the_zone_is_secure_only(samba_dc, tmp_path):
    principal, keytab = samba_dc.account_keytab("host1")
    result = run_cli(
        *("dns", "check", "--server", samba_dc.address, "--zone", samba_dc.zone, "--state-dir", str(tmp_path)),
        *("--gss-tsig", "--keytab", str(keytab), "--principal", principal),
        env={"KRB5_CONFIG": str(samba_dc.krb5_config), "KRB5CCNAME": f"FILE:{tmp_path / 'never.ccache'}"},
        netns=samba_dc.netns,
    )
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stdout + result.stderr
    assert lines[0].startswith(f"ok   Kerberos principal {principal}, ticket valid for ")
    assert lines[1] == f"ok   GSS-TSIG key negotiated with {samba_dc.address}#53 for DNS/dc1.ad.test@AD.TEST"
    assert f"ok   ad.test: Kerberos principal '{principal}' may update the zone" in lines
    assert "ok   ad.test: unsigned updates refused (secure only)" in lines
    transfer = next(line for line in lines if "zone transfer not allowed" in line)
    assert "no allow-transfer { key ...; } can name them" in transfer and "journal" in transfer
    assert not (tmp_path / "never.ccache").exists()


def test_dns_check_names_a_principal_the_kdc_does_not_know(samba_dc, tmp_path):
    _, keytab = samba_dc.account_keytab("host1")
    result = run_cli(
        *("dns", "check", "--server", samba_dc.address, "--zone", samba_dc.zone, "--state-dir", str(tmp_path)),
        *("--gss-tsig", "--keytab", str(keytab), "--principal", "nobody@AD.TEST"),
        env={"KRB5_CONFIG": str(samba_dc.krb5_config)},
        netns=samba_dc.netns,
    )
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"FAIL Kerberos: keytab {keytab} has no key for principal 'nobody@AD.TEST': export the principal's key "
        "into it (ktadd, or samba-tool domain exportkeytab), or give --principal as it is written there (klist -k)"
    ]
