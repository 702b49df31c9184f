"""--send-from container: the seed's way, updates authorised by the container's own source address."""

from tests.harness import PrivateNamed, WatcherProcess, wait_for


def test_send_from_container_is_accepted_by_a_keyless_named_trusting_the_docker_subnet(
    dockerd, run_dir, containers, label, owner
):
    base, _ = run_dir
    # named inside the engine's namespace, reachable from containers at the bridge address, no key at all
    named = PrivateNamed(base, name="named-bysource", netns=dockerd.netns)
    named.provision()
    conf = named.dir / "named.conf"
    text = conf.read_text()
    text = text.replace(
        f"listen-on port {named.port} {{ 127.0.0.1; }};", f"listen-on port {named.port} {{ 127.0.0.1; 10.1.0.1; }};"
    )
    text = text.replace('allow-update { key "ddns-key"; };', "allow-update { 10.1.0.0/16; 127.0.0.1; };")
    conf.write_text(text)
    named.start()
    workdir = base / "watchers" / owner
    workdir.mkdir(parents=True, exist_ok=True)
    # the watcher names the server by the bridge address, which containers reach too
    watcher = WatcherProcess(
        dockerd,
        named,
        workdir,
        owner,
        netns=dockerd.netns,
        server="10.1.0.1",
        extra=("--settle-time", "1", "--no-key", "--send-from", "container"),
    )
    try:
        watcher.start()
        container = containers(hostname=label)
        address = dockerd.address_of(container)
        assert wait_for(lambda: named.query(label) == {address}), watcher.log_text()
        # named saw the add come from the container's own address
        assert named.logged_add_from(label, address), (named.dir / "named.log").read_text()[-2000:]
        container.remove(force=True)
        assert wait_for(lambda: named.query(label) == set()), watcher.log_text()
        assert watcher.terminate() == 0
    finally:
        watcher.cleanup()
        named.stop()


def test_a_socket_made_in_a_namespace_still_times_out(run_dir):
    """A reply that never comes must not hang the watcher (dnspython needs a non-blocking socket)."""
    import socket
    import time

    import dns.exception
    import dns.message
    import dns.query
    import pytest

    from dockernet.ddns import socket_in_namespace
    from tests.harness import free_port

    quiet = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # bound, so no ICMP error: it just never answers
    quiet.bind(("127.0.0.1", free_port()))
    try:
        with socket_in_namespace("/proc/self/ns/net", socket.AF_INET) as sock:
            started = time.monotonic()
            with pytest.raises(dns.exception.Timeout):
                dns.query.udp(
                    dns.message.make_query("x.test", "A"),
                    "127.0.0.1",
                    port=quiet.getsockname()[1],
                    timeout=0.3,
                    sock=sock,
                )
            assert time.monotonic() - started < 2
    finally:
        quiet.close()
