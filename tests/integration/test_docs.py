"""The README's tour and the first example of every docs/ page, run for real, as a reader would type them.

The "host" the docs describe is built from the session's real components:

* the quickstart's DNS server is a named from ``dns init`` on 127.0.0.1:53 *inside the private dockerd's
  network namespace*, and every command runs in that namespace (``nsenter --net``), so ``docker0``,
  ``127.0.0.1:53`` and ``127.0.0.1:9153`` are that namespace's, never the host's;
  ``bridge`` examples run in a fresh namespace of their own (a ``--dry-run`` there changes nothing;
  ``show`` only reads);
* what is substituted, and nothing else: the engine (``DOCKER_HOST`` is the private dockerd's socket),
  paths (``/var/lib/dockernet`` → this run's directory, also as ``DOCKERNET_STATE_DIR``; ``/tmp/`` → a
  directory of this run; ``.venv/bin/python`` → this test's interpreter, whose ``bin`` leads ``PATH``),
  and the image (``busybox`` → the harness's busybox image);
* a ``dig`` or ``curl`` line is repeated until it prints something (the watcher publishes asynchronously);
  a ``dockernet watch`` line without ``--once``/``--help`` is started in the background, waited for
  ("Watching Docker events") and stopped with SIGTERM at the end of its block (it must exit 0);
  every other line must exit 0;
* a page whose example starts no watcher runs with the quickstart's running (the tour's ``watch`` line)
  and the tour's container ``web1``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.docblocks import Block, example_lines, first_example
from tests.harness import IMAGE, REPO, PrivateNamed, clean_env, delete_netns, make_netns, wait_for

DAEMON = re.compile(r"(^|\s)dockernet(\s+--\S+(\s+[^-\s]\S*)?)*\s+watch\s")
PAGES = sorted((REPO / "docs").glob("*.md"))


def is_daemon(line: str) -> bool:
    return bool(DAEMON.search(line + " ")) and "--once" not in line and "--help" not in line


@dataclass
class DocsHost:
    """The quickstart's host as the docs assume it, in the private engine's namespace."""

    netns: str
    var_lib: Path
    tmp: Path
    env: dict
    log_dir: Path
    daemons: list[subprocess.Popen] = field(default_factory=list)
    #: further paths a page names, and this run's files in their place (kerberos.md's keytab)
    files: dict[str, str] = field(default_factory=dict)

    def substitute(self, line: str) -> str:
        paths = {"/var/lib/dockernet": str(self.var_lib), "/tmp/": f"{self.tmp}/"}
        line = re.sub(r"/var/lib/dockernet|(?<![\w/.-])/tmp/", lambda found: paths[found.group()], line)
        for shown, real in self.files.items():  # after: the real files may be under /tmp/
            line = line.replace(shown, real)
        line = re.sub(r"(^|\s)\.venv/bin/python(?=\s)", rf"\g<1>{sys.executable}", line)
        if re.match(r"docker run\b", line):
            line = re.sub(r"\sbusybox(?=\s)", f" {IMAGE}", line)
        return line

    def shell(self, command: str, netns: str | None = None) -> list[str]:
        return ["nsenter", f"--net=/var/run/netns/{netns or self.netns}", "bash", "-c", command]

    def run(self, block: Block, netns: str | None = None) -> list[subprocess.CompletedProcess]:
        """Each line of the block in turn; returns what each line that is not a daemon printed."""
        results = []
        try:
            for line in example_lines(block):
                command = self.substitute(line)
                if line.startswith("export "):
                    done = subprocess.run(
                        ["bash", "-c", f"{command} && env -0"],
                        capture_output=True,
                        text=True,
                        env=self.env,
                        cwd=REPO,
                        check=True,
                    )
                    self.env = dict(item.split("=", 1) for item in done.stdout.split("\0") if "=" in item)
                elif is_daemon(line):
                    self.start_daemon(command, netns)
                else:
                    results.append(self.run_line(line, command, netns))
        finally:
            self.stop_daemons()
        return results

    def run_line(self, line: str, command: str, netns: str | None) -> subprocess.CompletedProcess:
        retried = line.startswith(("dig ", "curl "))
        deadline = time.monotonic() + (30 if retried else 0)
        while True:
            done = subprocess.run(
                self.shell(command, netns),
                capture_output=True,
                text=True,
                env=self.env,
                cwd=REPO,
                timeout=900,
                stdin=subprocess.DEVNULL,
            )
            if not retried or (done.returncode == 0 and done.stdout.strip()) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert done.returncode == 0 and (done.stdout.strip() or not retried), (
            f"`{line}` ran as `{command}`: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
        return done

    def start_daemon(self, command: str, netns: str | None = None) -> None:
        log = self.log_dir / f"daemon-{len(list(self.log_dir.iterdir()))}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                self.shell(command, netns),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        proc.log = log  # type: ignore[attr-defined]
        self.daemons.append(proc)
        up = wait_for(
            lambda: "Watching Docker events" in log.read_text(errors="replace") or proc.poll() is not None, 60
        )
        assert up and proc.poll() is None, f"`{command}` did not start watching:\n{log.read_text(errors='replace')}"

    def stop_daemons(self) -> None:
        while self.daemons:
            proc = self.daemons.pop()
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
            status = proc.wait(timeout=30)
            assert status == 0, f"the watcher exited {status}:\n{proc.log.read_text(errors='replace')[-3000:]}"


@pytest.fixture(scope="module")
def docs_host(dockerd, run_dir):
    base = run_dir[0] / "docs"
    var_lib, tmp, logs = base / "var-lib-dockernet", base / "tmp", base / "logs"
    for directory in (var_lib, tmp, logs):
        directory.mkdir(parents=True, exist_ok=True)
    named = PrivateNamed(var_lib, netns=dockerd.netns, port=53)
    named.start()
    before = {c.id for c in dockerd.client.containers.list(all=True)}
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}"
    env = clean_env({"DOCKER_HOST": dockerd.url, "DOCKERNET_STATE_DIR": str(var_lib), "PATH": path})
    host = DocsHost(dockerd.netns, var_lib, tmp, env, logs)
    try:
        yield host
    finally:
        host.stop_daemons()
        for container in dockerd.client.containers.list(all=True):
            if container.id not in before:
                container.remove(force=True)
        named.stop()


@pytest.fixture
def quickstart_running(docs_host, dockerd):
    """The quickstart's watcher (the tour's own command) and the tour's container web1, for a page's example."""
    tour = example_lines(first_example(REPO / "README.md"))
    watch = next(line for line in tour if is_daemon(line))
    docs_host.start_daemon(docs_host.substitute(watch))
    if not dockerd.client.containers.list(filters={"name": "^/web1$"}):
        dockerd.client.containers.run(IMAGE, ["sleep", "3600"], detach=True, name="web1", hostname="web1")
    yield
    docs_host.stop_daemons()


def test_the_readme_tour(docs_host, dockerd):
    outputs = docs_host.run(first_example(REPO / "README.md"))
    web1 = dockerd.client.containers.get("web1")
    address = dockerd.address_of(web1)
    dig = next(done for done in outputs if done.args[-1].startswith("dig "))
    assert dig.stdout.split() == [address]
    topology = next(done for done in outputs if " topology " in done.args[-1])
    assert "web1.docker.test.  published" in topology.stdout
    bridge = next(done for done in outputs if "bridge show" in done.args[-1])
    assert bridge.stdout.startswith("docker0:") and "10.1.0.1/16" in bridge.stdout


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_the_first_example_of_each_page(page, docs_host, request, run_dir):
    block = first_example(page)
    if page.name == "bridge.md":
        netns = f"{run_dir[1]}-docs"
        make_netns(netns)
        try:
            docs_host.run(block, netns=netns)
        finally:
            delete_netns(netns)
        return
    if page.name == "kerberos.md":
        _run_the_kerberos_example(block, docs_host, request, run_dir)
        return
    if not any(is_daemon(line) for line in example_lines(block)):
        request.getfixturevalue("quickstart_running")
    docs_host.run(block)


#: what kerberos.md's example names: the keytab of the principal it signs as
KERBEROS_KEYTAB = "/etc/dockernet/dockernet.keytab"


def _run_the_kerberos_example(block: Block, docs_host: DocsHost, request, run_dir) -> None:
    """kerberos.md's worked run, in a namespace of its own: an MIT KDC and a named taking GSS-TSIG updates on
    127.0.0.1:53 there (the bed of tests/kerberos.py), the page's keytab and the bed's krb5.conf in place."""
    from tests.kerberos import HOST1, KerberizedNamed, PrivateKdc, bed_policy

    dockerd = request.getfixturevalue("dockerd")
    netns = f"{run_dir[1]}-docs-krb"
    base = run_dir[0] / "docs-krb"
    make_netns(netns)
    kdc = PrivateKdc(base, netns=netns)
    named = KerberizedNamed(base, kdc, bed_policy, netns=netns, port=53)
    try:
        kdc.start()
        keytab = kdc.add_principal(HOST1)
        named.start()
        host = DocsHost(
            netns,
            docs_host.var_lib,
            docs_host.tmp,
            {**docs_host.env, "KRB5_CONFIG": str(kdc.krb5_config)},
            docs_host.log_dir,
            files={KERBEROS_KEYTAB: str(keytab)},
        )
        outputs = host.run(block)
        check = next(done for done in outputs if " dns check " in done.args[-1])
        assert f"ok   GSS-TSIG key negotiated with 127.0.0.1#53 for {named.service_principal}" in check.stdout
        dig = next(done for done in outputs if done.args[-1].startswith("dig "))
        name = dig.args[-1].split()[2].split(".")[0]
        assert dig.stdout.split() == [dockerd.address_of(dockerd.client.containers.get(name))]
    finally:
        named.stop()
        kdc.stop()
        delete_netns(netns)
