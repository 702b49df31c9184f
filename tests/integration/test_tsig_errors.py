"""The server's refusals, reported by meaning with the key's name, as one line."""

import base64
import os

import pytest

from tests.harness import run_cli


def write_key(path, name, secret, algorithm="hmac-sha256"):
    path.write_text(f'key "{name}" {{\n\talgorithm {algorithm};\n\tsecret "{secret}";\n}};\n')
    return path


def wrong_secret():
    return base64.b64encode(os.urandom(32)).decode()


@pytest.mark.parametrize("key_name, code", [("ddns-key", "BADSIG"), ("stranger-key", "BADKEY")])
def test_wrong_key_is_named_with_the_tsig_error(dockerd, named, watchers, tmp_path, key_name, code):
    secret = wrong_secret()
    key = write_key(tmp_path / "bad.key", key_name, secret)
    watcher = watchers(key_file=key)
    for result in (watcher.once(), run_cli(*watcher.args(str(tmp_path / "w.log")), timeout=60)):
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert code in lines[0] and f"key '{key_name}'" in lines[0]
        assert "Traceback" not in result.stderr and secret not in result.stderr + result.stdout


def test_zone_not_served_is_notauth(dockerd, named, watchers):
    watcher = watchers()
    args = watcher.args("--once", "-")
    args[args.index("--zone") + 1] = "not-served.test"
    result = run_cli(*args)
    assert result.returncode == 1 and "NOTAUTH" in result.stderr and len(result.stderr.strip().splitlines()) == 1
