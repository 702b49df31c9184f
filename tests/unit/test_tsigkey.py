import base64
import dns.name
import dns.tsig
import pytest

from dockernet.errors import KeyFileError
from dockernet.tsigkey import ALGORITHMS, load_key_file, parse_key_text

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
        ('key "a" { algorithm hmac-sha256; secret "' + SECRET + '"; };\nkey "b" { algorithm hmac-sha256; secret "' + SECRET + '"; };',
         "holds more than one key"),
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
    key = parse_key_text(f'// a comment\nkey "ddns-key" {{ /* another */ algorithm hmac-sha256; # and one more\n'
                         f'\tsecret "{secret}";\n}};\n')
    assert key.keyring[key.name].secret == base64.b64decode(secret)


@pytest.mark.parametrize("mode, warned", [(0o600, False), (0o400, False), (0o640, True), (0o644, True), (0o606, True)])
def test_a_key_file_others_may_read_draws_a_warning(tmp_path, mode, warned):
    from dockernet.tsigkey import key_file_exposure

    path = tmp_path / "ddns.key"
    path.write_text("x")
    path.chmod(mode)
    warning = key_file_exposure(path)
    assert bool(warning) == warned
    if warned:
        assert f"chmod 600 {path}" in warning and f"{mode:04o}" in warning
