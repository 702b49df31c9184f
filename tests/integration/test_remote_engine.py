"""A remote engine over TCP with TLS: a dockerd serving tcp://127.0.0.1:2376 with --tlsverify inside its namespace.

Certificates are made with openssl for the test: a CA, the engine's
certificate for IP 127.0.0.1, a client certificate, and a second CA that
signed nothing the engine shows. named runs in the same namespace, and so do
the commands under test (``nsenter``): the engine's TCP address exists only
there.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import REPO, PrivateDockerd, PrivateNamed, WatcherProcess, clean_env, delete_netns, run_cli, wait_for

ENGINE = "tcp://127.0.0.1:2376"


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for ca in ("ca", "other-ca"):
        openssl(
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN=dockernet test {ca}",
            "-keyout",
            f"{ca}-key.pem",
            "-out",
            f"{ca}.pem",
            cwd=directory,
        )
    (directory / "server.ext").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    (directory / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for who, ext in (("server", "server.ext"), ("client", "client.ext")):
        openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={who}",
            "-keyout",
            f"{who}-key.pem",
            "-out",
            f"{who}.csr",
            cwd=directory,
        )
        openssl(
            "x509",
            "-req",
            "-in",
            f"{who}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            ext,
            "-out",
            f"{who}-cert.pem",
            cwd=directory,
        )
    # the names the docker CLI (and DOCKER_CERT_PATH) expects
    (directory / "cert.pem").write_bytes((directory / "client-cert.pem").read_bytes())
    (directory / "key.pem").write_bytes((directory / "client-key.pem").read_bytes())


@pytest.fixture(scope="module")
def tls_engine(run_dir):
    base, netns = run_dir
    certs = base / "tls"
    make_certificates(certs)
    engine = PrivateDockerd(
        base / "tls-engine",
        f"{netns}-tls",
        bip="10.20.0.1/16",
        extra_args=(
            "--tlsverify",
            "--tlscacert",
            str(certs / "ca.pem"),
            "--tlscert",
            str(certs / "server-cert.pem"),
            "--tlskey",
            str(certs / "server-key.pem"),
            "-H",
            ENGINE,
        ),
    )
    named = PrivateNamed(base, name="named-tls", netns=engine.netns)
    try:
        engine.start()
        engine.import_busybox()
        named.provision()
        named.start()
        yield engine, named, certs
    finally:
        named.stop()
        engine.remove_all()
        engine.stop()
        delete_netns(engine.netns)


def tls_flags(certs: Path, ca: str = "ca.pem") -> tuple[str, ...]:
    return (
        "--docker-host",
        ENGINE,
        "--tlsverify",
        "--tlscacert",
        str(certs / ca),
        "--tlscert",
        str(certs / "cert.pem"),
        "--tlskey",
        str(certs / "key.pem"),
    )


def test_watch_over_tls_configured_as_the_docker_cli_is(tls_engine, run_dir, label):
    engine, named, certs = tls_engine
    workdir = run_dir[0] / "watchers" / label
    workdir.mkdir(parents=True, exist_ok=True)
    watcher = WatcherProcess(
        engine, named, workdir, f"{label}-tls", netns=engine.netns, docker_args=("--docker-host", ENGINE)
    )
    try:
        watcher.start(env={"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(certs)})
        container = engine.run(hostname=f"{label}-remote")
        want = {engine.address_of(container)}
        assert wait_for(lambda: named.query(f"{label}-remote") == want), watcher.log_text()[-2000:]
        assert f"Watching Docker events at {ENGINE}" in watcher.log_text()
        container.remove(force=True)
        assert wait_for(lambda: named.query(f"{label}-remote") == set())
    finally:
        watcher.cleanup()


def test_netns_and_the_fast_inspect_path_work_over_tls(tls_engine, label):
    engine, _named, certs = tls_engine
    container = engine.run(hostname=f"{label}-ns")
    try:
        listed = run_cli(*tls_flags(certs), "netns", "ls", netns=engine.netns)
        assert listed.returncode == 0, listed.stderr
        assert container.id[:12] in listed.stdout and "eth0" in listed.stdout
        # the keep-alive inspect connection speaks TLS too (it is the watcher's hot path)
        probe = (
            "import ssl, sys\n"
            "from dockernet.engine.address import EngineAddress, EngineTls\n"
            "from dockernet.engine.dockerapi import DockerEngine\n"
            f"tls = EngineTls.from_flags(True, {str(certs / 'ca.pem')!r}, {str(certs / 'cert.pem')!r}, "
            f"{str(certs / 'key.pem')!r})\n"
            f"engine = DockerEngine(EngineAddress({ENGINE!r}, tls))\n"
            f"info = engine.inspect({container.id!r})\n"
            "assert isinstance(engine._fast.sock, ssl.SSLSocket), engine._fast.sock\n"
            "print(info.hostname)\n"
        )
        result = subprocess.run(
            ["nsenter", f"--net=/var/run/netns/{engine.netns}", sys.executable, "-c", probe],
            capture_output=True,
            text=True,
            env=clean_env(),
            cwd=REPO,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"{label}-ns"
    finally:
        container.remove(force=True)


@pytest.mark.parametrize("command", [("netns", "ls"), ("watch", "--zone", "docker.test", "--no-key", "--once")])
def test_a_wrong_ca_or_an_unreachable_engine_is_one_clear_line(tls_engine, command):
    engine, _named, certs = tls_engine
    wrong = run_cli(*tls_flags(certs, ca="other-ca.pem"), *command, netns=engine.netns)
    assert wrong.returncode != 0
    lines = wrong.stderr.strip().splitlines()
    assert len(lines) == 1, wrong.stderr
    assert f"TLS with the Docker engine at {ENGINE} failed (certificate verify failed" in lines[0]
    assert "--tlscacert" in lines[0]

    gone = run_cli(
        "--docker-host",
        "tcp://127.0.0.1:2399",
        "--tlsverify",
        "--tlscacert",
        str(certs / "ca.pem"),
        "--tlscert",
        str(certs / "cert.pem"),
        "--tlskey",
        str(certs / "key.pem"),
        *command,
        netns=engine.netns,
    )
    lines = gone.stderr.strip().splitlines()
    assert gone.returncode != 0 and len(lines) == 1, gone.stderr
    assert "the Docker engine at tcp://127.0.0.1:2399 does not answer" in lines[0]

    missing = run_cli(*tls_flags(certs, ca="no-such-ca.pem"), *command, netns=engine.netns)
    assert missing.returncode != 0
    assert missing.stderr.strip().splitlines() == [
        f"dockernet: error: TLS file {certs / 'no-such-ca.pem'} (--tlscacert) does not exist: give the engine's "
        "client certificates with --tlscacert, --tlscert and --tlskey, or DOCKER_CERT_PATH"
    ]
