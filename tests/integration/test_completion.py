"""Tab completion as a shell runs it: the script bash evaluates, and container names from the real engine."""

import os
import shlex
import subprocess
import sys
from pathlib import Path

from tests.harness import clean_env

BIN = str(Path(sys.executable).parent)  # where the venv put the dockernet program


def tab(words: list[str], typed: str, docker_host: str | None = None) -> list[str]:
    """Source ``dockernet completion bash`` in a real bash, then do what Tab does after ``words`` and ``typed``."""
    script = (
        'eval "$(dockernet completion bash)"\n'
        f"COMP_WORDS=({shlex.join([*words, typed])})\n"
        f"COMP_CWORD={len(words)}\n"
        "_dockernet_completion dockernet\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = clean_env(
        {"PATH": BIN + os.pathsep + os.environ["PATH"], **({"DOCKER_HOST": docker_host} if docker_host else {})}
    )
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return sorted(line for line in result.stdout.splitlines() if line)


def test_netns_container_arguments_complete_running_container_names(dockerd, containers, label):
    running = sorted([containers(name=f"{label}-web").name, containers(name=f"{label}-db").name])
    containers(name=f"{label}-old").stop(timeout=0)
    assert tab(["dockernet", "--docker-host", dockerd.url, "netns", "show"], f"{label}-") == running
    assert tab(["dockernet", "netns", "addr", "add"], f"{label}-w", docker_host=dockerd.url) == [f"{label}-web"]


def test_commands_complete_and_an_unreachable_engine_offers_nothing_quietly():
    assert tab(["dockernet"], "ne") == ["netns"]
    assert tab(["dockernet", "dns"], "p") == ["purge"]
    assert tab(["dockernet", "--docker-host", "unix:///nonexistent/docker.sock", "netns", "show"], "") == []
