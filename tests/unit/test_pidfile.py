import os
import subprocess
import sys
import time

import pytest

from dockernet.errors import PidfileBusy
from dockernet.pidfile import acquire, pid_space, process_started_at, read_pid, release


def test_acquire_writes_our_pid_and_release_removes_it(tmp_path):
    path = str(tmp_path / "w.pid")
    acquire(path)
    assert read_pid(path) == os.getpid()
    release(path)
    assert not os.path.exists(path)


def test_a_stale_pid_file_is_replaced(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    path = tmp_path / "w.pid"
    path.write_text(f"{gone.pid}\n")
    acquire(str(path))
    assert read_pid(str(path)) == os.getpid()


def test_a_live_holder_is_refused_and_its_file_kept(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        path = tmp_path / "w.pid"
        path.write_text(f"{holder.pid}\n")
        with pytest.raises(PidfileBusy, match=f"held by running process {holder.pid}"):
            acquire(str(path))
        release(str(path))  # not ours: left alone
        assert read_pid(str(path)) == holder.pid
    finally:
        holder.kill()
        holder.wait()


def test_garbage_pid_file_counts_as_stale(tmp_path):
    path = tmp_path / "w.pid"
    path.write_text("not a pid")
    acquire(str(path))
    assert read_pid(str(path)) == os.getpid()


def test_a_process_start_time_is_read_and_an_exited_process_has_none():
    before = time.time()
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        started = process_started_at(child.pid)
        assert started is not None and before - 2 <= started <= time.time() + 1  # /proc/stat's boot time: whole s
        assert process_started_at(os.getpid()) <= started + 1
    finally:
        child.stdin.close()
        child.wait()
    assert process_started_at(child.pid) is None


def test_a_zombie_is_not_a_running_process():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while process_started_at(child.pid) is not None and time.monotonic() < deadline:  # exits, not yet reaped
        time.sleep(0.01)
    assert process_started_at(child.pid) is None
    child.wait()


def test_our_pid_space_is_the_same_each_time_and_names_no_pid():
    assert pid_space() == pid_space() and len(pid_space()) == 12
