import base64

import dns.name
import dns.tsig
import pytest

from dockernet.errors import KeyFileError
from dockernet.rfc2136.tsigkey import ALGORITHMS, load_key_file, parse_key_text

SECRET = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_every_bind_algorithm_loads(tmp_path, algorithm):
    path = tmp_path / "k.key"
    path.write_text(f'key "ddns-key" {{\n\talgorithm {algorithm};\n\tsecret "{SECRET}";\n}};\n')
    key = load_key_file(path)
    assert key.name == dns.name.from_text("ddns-key")
    assert key.algorithm == ALGORITHMS[algorithm]
    stored = key.keyring[key.name]
    assert isinstance(stored, dns.tsig.Key) and stored.secret == base64.b64decode(SECRET)


def test_ddns_confgen_output_with_comments_loads():
    text = (
        "# To activate this key, place the following in named.conf, and\n"
        "# in a separate keyfile on the system\n"
        'key "k2" {\n\talgorithm hmac-sha512;\n\tsecret "' + SECRET + '";\n};\n'
        "// trailing comment\n/* block\ncomment */\n"
    )
    key = parse_key_text(text)
    assert key.label == "k2" and key.algorithm == dns.tsig.HMAC_SHA512


def test_unquoted_name_and_upper_case_algorithm():
    key = parse_key_text(f"key ddns {{ algorithm HMAC-SHA1; secret {SECRET}; }};")
    assert key.label == "ddns" and key.algorithm == dns.tsig.HMAC_SHA1


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "is not a BIND key file"),
        ("hello world", "is not a BIND key file"),
        ('key "k" { algorithm hmac-sha256; secret "' + SECRET + '"; ', "is not a BIND key file"),
        ('key "k" { algorithm hmac-foo; secret "' + SECRET + '"; };', "algorithm 'hmac-foo' is not one BIND offers"),
        ('key "k" { algorithm hmac-sha256; secret "!!!not-base64"; };', "is not valid base64"),
        ('key "k" { algorithm hmac-sha256; secret ""; };', "is not valid base64"),
        (
            'key "a" { algorithm hmac-sha256; secret "'
            + SECRET
            + '"; };\nkey "b" { algorithm hmac-sha256; secret "'
            + SECRET
            + '"; };',
            "holds more than one key",
        ),
    ],
)
def test_broken_key_files_are_refused_with_a_clear_message(text, message):
    with pytest.raises(KeyFileError) as info:
        parse_key_text(text, origin="key file /x")
    assert message in str(info.value)


def test_secret_never_appears_in_messages_or_repr():
    key = parse_key_text(f'key "k" {{ algorithm hmac-sha256; secret "{SECRET}"; }};')
    assert SECRET not in repr(key) and SECRET not in str(key)
    with pytest.raises(KeyFileError) as info:
        parse_key_text(f'key "k" {{ algorithm hmac-nope; secret "{SECRET}"; }};')
    assert SECRET not in str(info.value)


def test_missing_unreadable_and_directory_key_files(tmp_path):
    with pytest.raises(KeyFileError, match="does not exist"):
        load_key_file(tmp_path / "nope.key")
    with pytest.raises(KeyFileError, match="is a directory"):
        load_key_file(tmp_path)
    binary = tmp_path / "bin.key"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(KeyFileError):
        load_key_file(binary)


def test_a_secret_holding_two_slashes_is_not_cut_as_a_comment():
    # base64 secrets contain "//" about once in a hundred keys (tsig-keygen's and dns init's alike)
    secret = base64.b64encode(b"\xff\xff\xff" + bytes(range(29))).decode()
    assert "//" in secret
    key = parse_key_text(
        f'// a comment\nkey "ddns-key" {{ /* another */ algorithm hmac-sha256; # and one more\n'
        f'\tsecret "{secret}";\n}};\n'
    )
    assert key.keyring[key.name].secret == base64.b64decode(secret)


@pytest.mark.parametrize("mode, warned", [(0o600, False), (0o400, False), (0o640, True), (0o644, True), (0o606, True)])
def test_a_key_file_others_may_read_draws_a_warning(tmp_path, mode, warned):
    from dockernet.rfc2136.tsigkey import key_file_exposure

    path = tmp_path / "ddns.key"
    path.write_text("x")
    path.chmod(mode)
    warning = key_file_exposure(path)
    assert bool(warning) == warned
    if warned:
        assert f"chmod 600 {path}" in warning and f"{mode:04o}" in warning


# --- the statements in any order, as named reads them (issue 23, item 13) ---------------------------------

#: (text, whether both named-checkconf and dockernet accept it): dockernet never accepts what named refuses
NAMED_AGREES = [
    ('key "ddns-key" {\n\talgorithm hmac-sha256;\n\tsecret "{S}";\n};\n', True),  # tsig-keygen
    ('key "ddns-key" {\n\tsecret "{S}";\n\talgorithm hmac-sha256;\n};\n', True),  # secret first
    ('# a\n// b\n/* c */ key /* d */ "k" // e\n{ secret /* f */ "{S}"; # g\nalgorithm hmac-sha512; };\n', True),
    ("KEY k { ALGORITHM HMAC-SHA1; SECRET {S}; };", True),  # keywords in any case, bare words
    ('key "k" { algorithm "hmac-sha384"; secret "{S}"; };', True),  # a quoted algorithm
    ('key"k"{secret"{S}";algorithm hmac-sha224;};', True),  # no blanks at all
    ('key "k" { secret "{S}"; };', False),  # no algorithm: named has no default
    ('key "k" { algorithm hmac-sha256; secret "{S}"; secret "{S}"; };', False),
    ('key "k" { algorithm hmac-sha256; algorithm hmac-sha1; secret "{S}"; };', False),
    ('key "k" { algorithm hmac-sha256; secret "{S}"; foo bar; };', False),
    ('key "k" { algorithm hmac-sha256; secret "{S}"; }', False),  # no ';' after the brace
    ('key "k" { algorithm hmac-sha256; secret "{S}" };', False),
    ('key "k" { ; algorithm hmac-sha256; secret "{S}"; };', False),
    ('; key "k" { algorithm hmac-sha256; secret "{S}"; };', False),
    ('key "k" { algorithm hmac-sha1.; secret "{S}"; };', False),
    ('key "k" { algorithm hmac-sha256; secret "{S}; };', False),  # a quote left open
]


def named_checkconf(path):
    import os
    import shutil
    import subprocess

    if not shutil.which("named-checkconf"):
        if os.environ.get("CI") == "true":
            pytest.fail("named-checkconf (bind9) is missing under CI")
        pytest.skip("needs named-checkconf (bind9)")
    return subprocess.run(["named-checkconf", str(path)], capture_output=True, text=True, timeout=30).returncode == 0


@pytest.mark.parametrize("template, accepted", NAMED_AGREES)
def test_key_files_are_judged_as_named_checkconf_judges_them(tmp_path, template, accepted):
    path = tmp_path / "ddns.key"
    path.write_text(template.replace("{S}", SECRET))
    assert named_checkconf(path) == accepted  # the table says what named says
    if accepted:
        key = load_key_file(path)
        assert key.keyring[key.name].secret == base64.b64decode(SECRET)
    else:
        with pytest.raises(KeyFileError):
            load_key_file(path)


def test_secret_before_algorithm_is_the_same_key():
    first = parse_key_text(f'key "k" {{ algorithm hmac-sha512; secret "{SECRET}"; }};')
    second = parse_key_text(f'key "k" {{ secret "{SECRET}"; algorithm hmac-sha512; }};')
    assert (first.name, first.algorithm) == (second.name, second.algorithm) == (first.name, dns.tsig.HMAC_SHA512)


@pytest.mark.parametrize(
    "text, message",
    [
        ('key "k" { secret "' + SECRET + '"; };', "key 'k' has no algorithm"),
        (
            'key "k" { algorithm hmac-sha256; secret "' + SECRET + '"; secret "' + SECRET + '"; };',
            "'secret' is given twice",
        ),
        ('key "k" { algorithm hmac-sha256; secret "' + SECRET + '"; }', "missing ';' after the key's closing brace"),
    ],
)
def test_what_named_refuses_is_refused_with_the_reason(text, message):
    with pytest.raises(KeyFileError) as info:
        parse_key_text(text, origin="key file /x")
    assert message in str(info.value) and SECRET not in str(info.value)


# --- key files that are not regular files (issue 23, item 5) -----------------------------------------------


def load_within(path, seconds=5.0):
    """``load_key_file(path)`` in a thread: (finished, the KeyFileError or key); a hang is reported, not waited."""
    import threading

    outcome = []

    def load():
        try:
            outcome.append(load_key_file(path))
        except KeyFileError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(seconds)
    return bool(outcome), outcome[0] if outcome else None


def test_a_fifo_key_file_is_refused_at_once(tmp_path):
    import os

    fifo = tmp_path / "ddns.key"
    os.mkfifo(fifo)
    try:
        finished, outcome = load_within(fifo)
    finally:
        if not finished:  # the old code waits in open() for a writer: give it one, so the thread ends
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert finished, "load_key_file blocked on a FIFO"
    assert isinstance(outcome, KeyFileError) and "is a FIFO, not a regular file" in str(outcome)


def test_a_device_key_file_is_refused_without_reading_it():
    # /dev/null, not /dev/zero: code that reads a device anyway must fail this test, not fill the memory
    finished, outcome = load_within("/dev/null")
    assert finished and isinstance(outcome, KeyFileError) and "is a character device" in str(outcome)


def test_a_huge_key_file_is_refused_without_reading_it_whole(tmp_path, monkeypatch):
    import os

    from dockernet.rfc2136 import tsigkey

    path = tmp_path / "ddns.key"
    with open(path, "wb") as handle:  # sparse: 64 MiB that cost no disk
        handle.truncate(1 << 26)
    read = []
    real_read = os.read
    monkeypatch.setattr(tsigkey.os, "read", lambda fd, n: read.append(n) or real_read(fd, n))
    with pytest.raises(KeyFileError, match="larger than 64 KiB"):
        load_key_file(path)
    assert sum(read) <= tsigkey.MAX_KEY_FILE + 1


@pytest.mark.parametrize(
    "body",
    [
        "algorithm hmac-sha256; {secret};",  # the keyword forgotten: the secret stands where a statement should
        "{secret}; algorithm hmac-sha256;",
        "algorithm hmac-sha256; secret {secret} {secret};",  # a second value where ';' should be
    ],
)
def test_a_malformed_key_file_never_echoes_the_secret(body):
    secret = base64.b64encode(b"s3cr3t-material-0123456789abcdef").decode()
    with pytest.raises(KeyFileError) as caught:
        parse_key_text('key "ddns-key" { ' + body.format(secret=f'"{secret}"') + " };")
    assert secret[:8] not in str(caught.value) and secret[:8] not in repr(caught.value)
