from dockernet.engine.model import container_from_inspect, parse_event, since_parameter

CID = "c3ec557d4a74c4cfdd7d2a8539256009f5589bf10e0f77300969fd6e0525ae59"


def inspect_doc(**overrides):
    doc = {
        "Id": CID,
        "Name": "/web",
        "Created": "2026-11-28T01:50:18.1Z",
        "State": {"Running": True, "Restarting": False},
        "Config": {"Hostname": "web1", "Labels": {"a": "b"}},
        "NetworkSettings": {"IPAddress": "10.1.0.2", "Networks": {"bridge": {"IPAddress": "10.1.0.2"}}},
    }
    doc.update(overrides)
    return doc


def test_default_bridge_container():
    info = container_from_inspect(inspect_doc())
    assert (info.id, info.name, info.hostname, info.running, info.addresses) == (
        CID,
        "web",
        "web1",
        True,
        ("10.1.0.2",),
    )
    assert info.short_id == CID[:12] and info.labels == {"a": "b"}


def test_user_defined_networks_have_no_top_level_address():
    info = container_from_inspect(
        inspect_doc(
            NetworkSettings={
                "IPAddress": "",
                "Networks": {
                    "front": {"IPAddress": "10.2.0.5"},
                    "back": {"IPAddress": "10.3.0.5"},
                    "none": {"IPAddress": ""},
                },
            }
        )
    )
    assert info.addresses == ("10.2.0.5", "10.3.0.5")


def test_restarting_or_stopped_is_not_running():
    assert not container_from_inspect(inspect_doc(State={"Running": True, "Restarting": True})).running
    assert not container_from_inspect(inspect_doc(State={"Running": False})).running


def test_missing_sections_do_not_crash():
    info = container_from_inspect({"Id": CID})
    assert info.addresses == () and info.hostname == "" and not info.running


def test_container_events_are_parsed_and_others_ignored():
    start = {"Type": "container", "Action": "start", "Actor": {"ID": CID}, "time": 1, "timeNano": 1_000_000_123}
    assert parse_event(start).container_id == CID and parse_event(start).time_nano == 1_000_000_123
    exec_start = {"Type": "container", "Action": "exec_start: sh", "Actor": {"ID": CID}, "time": 1}
    assert parse_event(exec_start) is None
    create = {"Type": "container", "Action": "create", "Actor": {"ID": CID}, "time": 1}
    assert parse_event(create) is None
    connect = {
        "Type": "network",
        "Action": "connect",
        "Actor": {"ID": "net", "Attributes": {"container": CID}},
        "time": 2,
    }
    assert parse_event(connect).container_id == CID and parse_event(connect).time_nano == 2_000_000_000
    disconnect = {
        "Type": "network",
        "Action": "disconnect",
        "Actor": {"ID": "net", "Attributes": {"container": CID, "name": "backend", "type": "bridge"}},
    }
    assert parse_event(disconnect).network == "backend"
    image = {"Type": "image", "Action": "pull", "Actor": {"ID": "x"}, "time": 1}
    assert parse_event(image) is None


def test_since_parameter_keeps_nanoseconds():
    assert since_parameter(1_700_000_000_000_000_042) == "1700000000.000000042"


def test_every_docker_py_error_becomes_docker_unreachable_in_one_place():
    import pytest
    import requests.exceptions

    from dockernet.engine.dockerapi import DockerEngine
    from dockernet.errors import DockerUnreachable

    engine = DockerEngine("unix:///nonexistent/docker.sock")
    closed = []
    engine.close = lambda: closed.append(True)
    for error in (OSError("Connection refused"), requests.exceptions.ConnectionError("gone")):
        with pytest.raises(DockerUnreachable, match="unix:///nonexistent/docker.sock does not answer"):
            with engine.answering():
                raise error
    assert closed == []
    with pytest.raises(DockerUnreachable), engine.answering(close=True):
        raise OSError("Connection reset")
    assert closed == [True], "a ping that failed reconnects next time"
    with pytest.raises(KeyError), engine.answering():  # a bug is no unreachable engine
        raise KeyError("x")


def test_the_event_stream_yields_container_events_and_ends_when_it_breaks():
    from dockernet.engine.dockerapi import DockerEventStream

    def raw():
        yield {"Type": "container", "Action": "start", "Actor": {"ID": CID}, "timeNano": 5}
        yield {"Type": "container", "Action": "create", "Actor": {"ID": CID}, "timeNano": 6}  # ignored
        raise OSError("the engine went away")

    assert [(event.container_id, event.action) for event in DockerEventStream(raw())] == [(CID, "start")]


def test_the_engine_package_imports_without_docker_py():
    import subprocess
    import sys

    code = "import sys, dockernet.engine, dockernet.engine.inspectors; print('docker' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )


def test_a_listing_inspects_from_several_threads_keeps_the_order_and_raises_what_one_raised():
    import threading

    import pytest

    from dockernet.engine.inspectors import inspect_in_parallel
    from dockernet.errors import DockerUnreachable

    seen, ended = set(), []

    def inspect(container_id):
        seen.add(threading.current_thread().name)
        return None if container_id == "gone" else container_id.upper()

    ids = ["a", "b", "gone", "d", "e", "f", "g"]
    assert inspect_in_parallel(inspect, ids, 4, done=lambda: ended.append(1)) == ["A", "B", None, "D", "E", "F", "G"]
    assert len(seen) == 4 and len(ended) == 4  # each thread closed its connection as it ended
    assert inspect_in_parallel(inspect, ["a"], 4) == ["A"]  # no more threads than containers

    def failing(container_id):
        if container_id == "d":
            raise DockerUnreachable("the Docker engine at unix:///x does not answer")
        return container_id

    ended.clear()
    with pytest.raises(DockerUnreachable):
        inspect_in_parallel(failing, ids, 4, done=lambda: ended.append(1))
    assert len(ended) == 4
