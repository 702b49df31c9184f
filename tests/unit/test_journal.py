import os

import dns.name

from dockernet.sync.journal import Journal

WEB = dns.name.from_text("web.docker.test")
DB = dns.name.from_text("db.docker.test")


def test_names_survive_a_reopen(tmp_path):
    journal = Journal(tmp_path, "host-a")
    assert journal.open() == {}
    journal.add(WEB, "a" * 12)
    journal.add(DB, "b" * 12)
    journal.remove(DB)
    journal.close()
    assert Journal(tmp_path, "host-a").open() == {WEB: "a" * 12}


def test_a_torn_last_line_is_ignored(tmp_path):
    journal = Journal(tmp_path, "host-a")
    journal.open()
    journal.add(WEB, "a" * 12)
    journal.close()
    with open(journal.path, "ab") as handle:
        handle.write(b"- web.dock")  # killed in the middle of a write
    assert Journal(tmp_path, "host-a").open() == {WEB: "a" * 12}


def test_garbage_lines_are_skipped(tmp_path):
    path = tmp_path / "records-host-a.journal"
    path.write_text("+ web.docker.test. aaaaaaaaaaaa\nnonsense\n+ bad..name x\n+ db.docker.test. bbbbbbbbbbbb\n")
    assert Journal(tmp_path, "host-a").open() == {WEB: "a" * 12, DB: "b" * 12}


def test_rewrite_compacts_and_keeps_appending(tmp_path):
    journal = Journal(tmp_path, "host-a")
    journal.open()
    for i in range(50):
        journal.add(WEB, f"{i:012d}")
    journal.rewrite({DB: "b" * 12})
    journal.add(WEB, "c" * 12)
    journal.close()
    assert journal.path.read_text().count("\n") == 2
    assert Journal(tmp_path, "host-a").open() == {DB: "b" * 12, WEB: "c" * 12}
    assert not list(tmp_path.glob("*.tmp"))


def test_each_owner_has_its_own_journal(tmp_path):
    a = Journal(tmp_path, "host-a")
    a.open()
    a.add(WEB, "a" * 12)
    assert Journal(tmp_path, "host-b").open() == {}


def test_a_line_appended_after_a_torn_one_is_kept(tmp_path):
    journal = Journal(tmp_path, "host-a")
    journal.open()
    journal.close()
    with open(journal.path, "ab") as handle:
        handle.write(b"+ web.docker.te")  # killed in the middle of a write
    again = Journal(tmp_path, "host-a")
    again.open()
    again.add(DB, "b" * 12)  # must not be glued onto the torn line
    again.close()
    assert Journal(tmp_path, "host-a").open()[DB] == "b" * 12


def test_a_line_appended_after_a_short_write_is_kept(tmp_path, monkeypatch):
    journal = Journal(tmp_path, "host-a")
    journal.open()
    real_write = os.write
    monkeypatch.setattr(
        "dockernet.sync.journal.os.write", lambda fd, data: real_write(fd, data[:5])
    )  # the disk fills up
    journal.add(WEB, "a" * 12)
    assert journal.error
    monkeypatch.setattr("dockernet.sync.journal.os.write", real_write)  # space again
    journal.add(DB, "b" * 12)
    assert journal.error == ""
    journal.close()
    # the name whose line was cut short is written again too: the journal holds every name it was told
    assert Journal(tmp_path, "host-a").open() == {WEB: "a" * 12, DB: "b" * 12}


class FullDisk:
    """Every write into the journal's directory fails with ENOSPC while ``full``: appends and rewrites alike."""

    def __init__(self, monkeypatch):
        import dockernet.sync.journal

        self.full = True
        real_write, real_atomic = dockernet.sync.journal.os.write, dockernet.sync.journal.write_atomic

        def write(fd, data):
            if self.full:
                raise OSError(28, "No space left on device")
            return real_write(fd, data)

        def atomic(*args, **kwargs):
            if self.full:
                raise OSError(28, "No space left on device")
            return real_atomic(*args, **kwargs)

        monkeypatch.setattr("dockernet.sync.journal.os.write", write)
        monkeypatch.setattr("dockernet.sync.journal.write_atomic", atomic)


def test_names_written_while_the_disk_was_full_are_in_the_journal_once_it_is_not(tmp_path, monkeypatch):
    journal = Journal(tmp_path, "host-a")
    journal.open()
    journal.add(WEB, "a" * 12)
    disk = FullDisk(monkeypatch)
    journal.add(DB, "b" * 12)  # its line is lost
    assert journal.error and journal.behind
    disk.full = False
    third = dns.name.from_text("api.docker.test")
    journal.add(third, "c" * 12)  # the next write finds space: the file is rewritten whole, not appended to
    assert journal.error == "" and not journal.behind
    assert Journal(tmp_path, "host-a").open() == {WEB: "a" * 12, DB: "b" * 12, third: "c" * 12}


def test_a_journal_behind_is_mended_without_waiting_for_the_next_name(tmp_path, monkeypatch):
    journal = Journal(tmp_path, "host-a")
    journal.open()
    disk = FullDisk(monkeypatch)
    journal.add(WEB, "a" * 12)
    journal.remove(WEB)
    journal.add(DB, "b" * 12)
    journal.mend()  # still full: stays behind, says so
    assert journal.behind and journal.error
    disk.full = False
    journal._next_mend = 0.0  # the watcher's loop calls mend() again a second later
    journal.mend()
    assert journal.error == "" and not journal.behind
    assert Journal(tmp_path, "host-a").open() == {DB: "b" * 12}
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_state_directory_that_cannot_be_written_is_no_reason_to_stop(tmp_path, monkeypatch):
    (tmp_path / "records-host-a.journal").write_text(f"+ {WEB} {'a' * 12}\n")
    real_open = os.open

    def read_only(path, flags, *mode):
        if flags & (os.O_WRONLY | os.O_RDWR):
            raise OSError(30, "Read-only file system")
        return real_open(path, flags, *mode)

    def no_rewrite(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr("dockernet.sync.journal.os.open", read_only)
    monkeypatch.setattr("dockernet.sync.journal.write_atomic", no_rewrite)
    journal = Journal(tmp_path, "host-a")
    assert journal.open() == {WEB: "a" * 12}  # read, and not fatal
    assert journal.error == "Read-only file system" and journal.behind
    journal.add(DB, "b" * 12)  # remembered, though not written
    assert journal.names == {WEB: "a" * 12, DB: "b" * 12}
    monkeypatch.undo()  # remounted read-write
    journal._next_mend = 0.0
    journal.mend()
    assert journal.error == ""
    assert Journal(tmp_path, "host-a").open() == {WEB: "a" * 12, DB: "b" * 12}


def test_read_only_commands_never_write_even_a_journal_behind(tmp_path):
    journal = Journal(tmp_path / "state", "host-a")
    assert journal.open(writable=False) == {}
    journal.add(WEB, "a" * 12)
    journal.rewrite({WEB: "a" * 12})
    journal.mend()
    assert not (tmp_path / "state").exists()
