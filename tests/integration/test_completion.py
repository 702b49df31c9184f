"""Tab completion as a shell runs it: the script bash evaluates, and container names from the real engine."""

from tests.harness import tab


def test_netns_container_arguments_complete_running_container_names(dockerd, containers, label):
    running = sorted([containers(name=f"{label}-web").name, containers(name=f"{label}-db").name])
    containers(name=f"{label}-old").stop(timeout=0)
    assert tab(["dockernet", "--docker-host", dockerd.url, "netns", "show"], f"{label}-") == running
    assert tab(["dockernet", "netns", "addr", "add"], f"{label}-w", docker_host=dockerd.url) == [f"{label}-web"]


def test_commands_complete_and_an_unreachable_engine_offers_nothing_quietly():
    assert tab(["dockernet"], "ne") == ["netns"]
    assert tab(["dockernet", "dns"], "p") == ["purge"]
    assert tab(["dockernet", "--docker-host", "unix:///nonexistent/docker.sock", "netns", "show"], "") == []
