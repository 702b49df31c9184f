"""Each engine's events and answers, as the engine sent them, into the same plain values.

The recorded payloads (tests/unit/golden/engine_events/, re-recorded with tests/record_engine_payloads.py)
are what Docker 20.10 and Podman 4.3 sent here; Docker's API 1.52 (no ``status``, ``id``, ``from``) and
Podman 5 (the network in ``Attributes.network``) are written after their documented shape.
"""

from __future__ import annotations

import json
from pathlib import Path

import dns.name
import pytest

from dockernet.engine.kind import EngineKind, engine_kind
from dockernet.engine.model import ContainerEvent, container_from_inspect, parse_event
from dockernet.engine.podman import FILTER_EVENTS, parse_podman_event, podman_identity

CID = "5f3c" + "0" * 60
NET = "9a1b" + "1" * 60
T = 1_765_000_000_123_456_789


def docker_1_52(kind: str, action: str, actor_id: str, **attributes: str) -> dict:
    """An event as Docker's API 1.52 sends it: Type, Action, Actor, scope, time, timeNano; nothing deprecated."""
    return {
        "Type": kind,
        "Action": action,
        "Actor": {"ID": actor_id, "Attributes": attributes},
        "scope": "local",
        "time": T // 1_000_000_000,
        "timeNano": T,
    }


def podman(kind: str, action: str, **attributes: str) -> dict:
    """An event as Podman's compat API sends it: the container in Actor.ID, for network events too."""
    return {
        "status": action,
        "id": CID,
        "from": "busybox",
        "Type": kind,
        "Action": action,
        "Actor": {"ID": CID, "Attributes": {"image": "busybox", "name": "web1", "podId": "", **attributes}},
        "scope": "local",
        "time": T // 1_000_000_000,
        "timeNano": T,
    }


DOCKER_1_52 = [
    (docker_1_52("container", "start", CID, name="web1", image="busybox"), ContainerEvent(CID, "start", T)),
    (docker_1_52("container", "die", CID, exitCode="0"), ContainerEvent(CID, "die", T)),
    (docker_1_52("container", "destroy", CID), ContainerEvent(CID, "destroy", T)),
    (docker_1_52("container", "rename", CID, oldName="/a"), ContainerEvent(CID, "rename", T)),
    (docker_1_52("container", "exec_start: sh", CID), None),
    (docker_1_52("container", "create", CID), None),
    (
        docker_1_52("network", "connect", NET, container=CID, name="backend", type="bridge"),
        ContainerEvent(CID, "connect", T, "backend"),
    ),
    (
        docker_1_52("network", "disconnect", NET, container=CID, name="backend", type="bridge"),
        ContainerEvent(CID, "disconnect", T, "backend"),
    ),
    (docker_1_52("network", "create", NET, name="backend"), None),
    (docker_1_52("image", "pull", "busybox:latest"), None),
]


@pytest.mark.parametrize(("event", "expected"), DOCKER_1_52, ids=lambda value: str(value)[:60])
def test_docker_api_1_52_events_are_read_from_type_action_and_actor_alone(event, expected):
    assert parse_event(event) == expected


PODMAN = [
    (podman("container", "start"), ContainerEvent(CID, "start", T)),
    # the filter asks for "died"; the stream says "die" (rewritten after filtering)
    (podman("container", "die", containerExitCode="0"), ContainerEvent(CID, "die", T)),
    (podman("container", "died", containerExitCode="0"), ContainerEvent(CID, "die", T)),
    (podman("container", "stop"), ContainerEvent(CID, "stop", T)),
    (podman("container", "remove"), ContainerEvent(CID, "destroy", T)),
    (podman("container", "rename"), ContainerEvent(CID, "rename", T)),
    (podman("container", "restart"), ContainerEvent(CID, "restart", T)),
    (podman("container", "cleanup"), None),
    (podman("container", "kill"), None),
    (podman("container", "create"), None),
    (podman("container", "init"), None),
    # Podman 4.3: the network is not named; the inspect a disconnect asks for brings the truth
    (podman("network", "connect"), ContainerEvent(CID, "connect", T, "")),
    (podman("network", "disconnect"), ContainerEvent(CID, "disconnect", T, "")),
    # Podman 5 names it
    (podman("network", "disconnect", network="backend"), ContainerEvent(CID, "disconnect", T, "backend")),
    (podman("image", "pull"), None),
]


@pytest.mark.parametrize(("event", "expected"), PODMAN, ids=lambda value: str(value)[:60])
def test_podman_events_become_dockers_actions(event, expected):
    assert parse_podman_event(event) == expected


def test_a_podman_network_event_read_as_dockers_would_be_lost():
    """Why Podman needs its own reading: Docker's takes Attributes.container, which Podman does not send."""
    assert parse_event(podman("network", "connect")) is None
    assert parse_podman_event(podman("network", "connect")) is not None


def test_the_podman_filter_asks_for_its_own_words():
    assert {"died", "remove", "connect", "disconnect", "start"} <= set(FILTER_EVENTS)


def test_engine_kind_from_version_and_info():
    docker = engine_kind(
        {"Version": "20.10.24+dfsg1", "ApiVersion": "1.41", "Components": [{"Name": "Engine", "Version": "20.10"}]},
        {"SecurityOptions": ["name=seccomp,profile=default", "name=cgroupns"]},
    )
    assert str(docker) == "Docker 20.10.24+dfsg1 (API 1.41)" and not docker.podman and not docker.rootless
    rootless_podman = engine_kind(
        {"Version": "4.3.1", "ApiVersion": "1.41", "Components": [{"Name": "Podman Engine", "Version": "4.3.1"}]},
        {"SecurityOptions": ["name=seccomp,profile=default", "name=rootless"]},
    )
    assert str(rootless_podman) == "Podman 4.3.1 (API 1.41, rootless)" and rootless_podman.podman
    assert engine_kind({}, {}).product == "Docker"  # an engine that says nothing is read as Docker


def test_podmans_identity_stays_while_its_random_info_id_changes():
    first = {"ID": "AAAA:BBBB", "Name": "host1", "DockerRootDir": "/var/lib/containers/storage"}
    again = {**first, "ID": "CCCC:DDDD"}
    other_user = {**first, "DockerRootDir": "/home/u/.local/share/containers/storage"}
    assert podman_identity(first) == podman_identity(again)
    assert podman_identity(first)[1] == "host1"
    assert podman_identity(first)[0] != podman_identity(other_user)[0]
    # two cloned hosts, one name and one storage path: their machine ids still tell them apart
    assert podman_identity(first, "a" * 32)[0] != podman_identity(first, "b" * 32)[0]


GOLDEN = Path(__file__).parent / "golden" / "engine_events"
#: what each recorded event must become, in the order the engine sent them: (action, network), or None
RECORDED = {
    "docker-20.10": (
        parse_event,
        [None, ("connect", "bridge"), ("start", ""), ("connect", "golden-second"), ("disconnect", "golden-second")]
        + [("disconnect", "golden-second"), ("rename", ""), None, None, ("die", ""), ("disconnect", "bridge")]
        + [("stop", ""), ("connect", "bridge"), ("start", ""), ("restart", ""), None, None, ("die", "")]
        + [("disconnect", "bridge"), ("stop", ""), ("connect", "bridge"), ("start", ""), None, ("die", "")]
        + [("disconnect", "bridge"), ("connect", "bridge"), ("start", ""), None, ("die", ""), ("disconnect", "bridge")]
        + [("destroy", "")],
    ),
    "podman-4.3": (
        parse_podman_event,
        [None, None, ("start", ""), ("connect", ""), ("disconnect", ""), ("rename", ""), ("restart", ""), ("die", "")]
        + [None, ("start", ""), ("die", ""), None, None, ("start", ""), None, ("die", ""), None, None, ("start", "")]
        + [("die", ""), ("destroy", "")],
    ),
}


@pytest.mark.parametrize("engine", sorted(RECORDED))
def test_recorded_events_of_each_engine_become_the_expected_container_events(engine):
    parse, expected = RECORDED[engine]
    recorded = json.loads((GOLDEN / f"{engine}.json").read_text())
    container = recorded[0]["event"]["Actor"]["ID"]  # the first is the container's create
    parsed = [parse(item["event"]) for item in recorded]
    assert [None if event is None else (event.action, event.network) for event in parsed] == expected
    assert {event.container_id for event in parsed if event} == {container}
    assert all(
        event.time_nano == item["event"]["timeNano"] for event, item in zip(parsed, recorded, strict=True) if event
    )


@pytest.mark.parametrize("engine", ["docker-20.10", "podman-4.3"])
def test_recorded_version_and_info_give_the_engine_kind(engine):
    version = json.loads((GOLDEN / f"{engine}-version.json").read_text())
    info = json.loads((GOLDEN / f"{engine}-info.json").read_text())
    kind = engine_kind(version, info)
    assert (kind.product, kind.rootless) == (("Podman", False) if engine.startswith("podman") else ("Docker", False))
    assert kind.version.startswith(engine.split("-")[1]) and kind.api_version == "1.41"


@pytest.mark.parametrize("engine", ["docker-20.10", "podman-4.3"])
def test_a_container_on_two_networks_has_both_addresses_whichever_engine(engine):
    document = json.loads((GOLDEN / f"{engine}-inspect-two-networks.json").read_text())
    info = container_from_inspect(document)
    networks = dict(info.networks)
    assert len({name for name, _ in info.networks}) == 2 and all(networks.values())
    default = "podman" if engine.startswith("podman") else "bridge"  # Podman names its default network so
    assert default in networks and set(info.addresses) >= set(networks.values())


@pytest.mark.parametrize(
    ("engine", "libpod"),
    [("rootless-podman-4.3", "rootless-podman-4.3-libpod-info"), ("rootless-docker-20.10", None)],
)
def test_a_rootless_engine_is_told_by_what_it_says_of_itself(engine, libpod):
    """Docker says so in /info's SecurityOptions; Podman 4.3's compat /info does not, its /libpod/info does."""
    version = json.loads((GOLDEN / f"{engine}-version.json").read_text())
    info = json.loads((GOLDEN / f"{engine}-info.json").read_text())
    libpod_info = json.loads((GOLDEN / f"{libpod}.json").read_text()) if libpod else None
    assert engine_kind(version, info, libpod_info).rootless
    if libpod:
        assert not engine_kind(version, info).rootless  # the compat /info alone does not say it


ROOTLESS = EngineKind("Podman", "4.3.1", "1.41", rootless=True)
ROOTFUL = EngineKind("Docker", "20.10.24", "1.41", rootless=False)


@pytest.mark.parametrize(
    ("given", "host_address", "kind", "chosen", "said"),
    [
        (None, None, ROOTLESS, "host", "is rootless: publishing this host's address"),
        (None, None, ROOTFUL, "container", ""),
        (None, "192.0.2.7", ROOTFUL, None, ""),  # --host-address alone means --address host: kept
        ("container", None, ROOTLESS, None, "reachable only inside the engine's own network namespace"),
        ("host", None, ROOTFUL, None, ""),
    ],
)
def test_address_mode_follows_the_engine_unless_given(given, host_address, kind, chosen, said, caplog):
    import logging

    from dockernet.runtime import DnsSettings, address_for, stated_address_mode

    settings = DnsSettings(zone=dns.name.from_text("docker.test"), address_mode=given, host_address=host_address)
    with caplog.at_level(logging.INFO, logger="dockernet"):
        assert address_for(settings, kind) == chosen
    assert (said in caplog.text) if said else caplog.text == ""
    assert stated_address_mode(settings) == (given or ("host" if host_address else None))
