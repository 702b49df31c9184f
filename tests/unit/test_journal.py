import dns.name

from dockernet.journal import Journal

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
    real_write = __import__("os").write
    monkeypatch.setattr("dockernet.journal.os.write", lambda fd, data: real_write(fd, data[:5]))  # the disk fills up
    journal.add(WEB, "a" * 12)
    assert journal.error
    monkeypatch.setattr("dockernet.journal.os.write", real_write)  # space again
    journal.add(DB, "b" * 12)
    assert journal.error == ""
    journal.close()
    assert Journal(tmp_path, "host-a").open() == {DB: "b" * 12}
