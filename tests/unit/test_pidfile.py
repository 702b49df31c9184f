import os
import subprocess
import sys

import pytest

from dockernet.errors import PidfileBusy
from dockernet.pidfile import acquire, read_pid, release


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
