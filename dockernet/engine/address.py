"""Where the engine is and how to reach it: its URL, checked, and TLS as the docker CLI takes it.

Checked when the options are read, before any request. docker-py is
imported only to read a URL it parses or to build its TLS settings, so a
command that names no engine does not pay for importing it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dockernet.errors import ConfigError, UsageError
from dockernet.logformat import printable

if TYPE_CHECKING:
    import docker.tls

ENGINE_EXAMPLES = "e.g. unix:///var/run/docker.sock, tcp://HOST:2376"


@dataclass(frozen=True)
class EngineTls:
    """TLS to a ``tcp://`` engine, given as the docker CLI takes it (--tls, --tlsverify, --tlscacert, ...).

    Without any of those flags dockernet reads ``DOCKER_TLS_VERIFY`` and
    ``DOCKER_CERT_PATH`` as the docker CLI does (docker-py's own reading).
    """

    verify: bool
    ca: str
    cert: str
    key: str

    @classmethod
    def from_flags(cls, verify: bool, ca: str | None, cert: str | None, key: str | None) -> EngineTls:
        directory = os.environ.get("DOCKER_CERT_PATH") or os.path.join(os.path.expanduser("~"), ".docker")
        return cls(
            verify,
            ca or os.path.join(directory, "ca.pem"),
            cert or os.path.join(directory, "cert.pem"),
            key or os.path.join(directory, "key.pem"),
        )

    def config(self) -> docker.tls.TLSConfig:
        import docker.tls  # only when connecting: docker-py costs ~0.2 s to import

        for flag, path in (
            ("--tlscacert", self.ca if self.verify else None),
            ("--tlscert", self.cert),
            ("--tlskey", self.key),
        ):
            if path and not os.path.isfile(path):
                raise ConfigError(
                    f"TLS file {path} ({flag}) does not exist",
                    hint="give the engine's client certificates with --tlscacert, --tlscert and "
                    "--tlskey, or DOCKER_CERT_PATH",
                )
        return docker.tls.TLSConfig(
            client_cert=(self.cert, self.key),
            ca_cert=self.ca if self.verify else None,
            verify=self.ca if self.verify else False,
        )


def check_engine_url(url: str) -> str:
    """``url`` if it names an engine dockernet can reach, else a ``UsageError`` saying what is wrong.

    docker-py's own parser (``docker.utils.parse_host``) decides, as it will
    when connecting; its ``ValueError`` for a broken URL
    (``http://[::1``, ``tcp://host:notaport``) becomes the message. Refused
    too, though docker-py takes them: ``unix://`` without an absolute path
    (docker-py turns it into the default socket, which the user did not
    name), ``ssh://`` without paramiko (not a dependency) and ``npipe://``
    (Windows).
    """
    shown = printable(url)

    def refuse(why: str, hint: str = ENGINE_EXAMPLES) -> UsageError:
        return UsageError(f"'{shown}' is not a Docker engine address ({why})", hint=hint)

    if not url.strip():
        raise UsageError(
            "the Docker engine address is empty",
            hint=f"leave it out for the local socket, or give one, {ENGINE_EXAMPLES}",
        )
    if any(char.isspace() or not char.isprintable() for char in url):  # urllib would silently drop a newline
        raise refuse("it holds a space or a control character")
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme == "unix" and not url[len("unix://") :].startswith("/"):
        raise refuse("unix:// needs the socket's absolute path", hint="e.g. unix:///var/run/docker.sock")
    if scheme == "npipe":
        raise refuse("npipe:// is Windows' named pipe")
    if scheme == "ssh" and importlib.util.find_spec("paramiko") is None:
        raise refuse(
            "ssh:// needs the paramiko package, which dockernet does not install",
            hint="forward the engine's socket (ssh -nNT -L /tmp/docker.sock:/var/run/docker.sock HOST) and "
            "give unix:///tmp/docker.sock",
        )
    import docker.errors  # only for a URL given: docker-py costs ~0.2 s to import
    import docker.utils

    try:
        parsed = docker.utils.parse_host(url, False, False)
        _ = urllib.parse.urlsplit(parsed).port  # a port out of range or not a number fails here
    except (docker.errors.DockerException, ValueError) as exc:
        raise refuse(str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__) from None
    return url


@dataclass(frozen=True)
class EngineAddress:
    """Where the Docker engine is (None: $DOCKER_HOST, else the local socket) and how to reach it.

    A URL that cannot name an engine is refused here (``check_engine_url``),
    not when the first request is made.
    """

    url: str | None = None
    tls: EngineTls | None = None

    def __post_init__(self) -> None:
        if self.url is not None:
            check_engine_url(self.url)

    @classmethod
    def from_options(
        cls,
        docker_host: str | None = None,
        use_tls: bool = False,
        tlsverify: bool = False,
        tlscacert: str | None = None,
        tlscert: str | None = None,
        tlskey: str | None = None,
    ) -> EngineAddress:
        """From the root command's options, as the docker CLI reads its own."""
        flags = use_tls or tlsverify or tlscacert or tlscert or tlskey
        return cls(docker_host or None, EngineTls.from_flags(tlsverify, tlscacert, tlscert, tlskey) if flags else None)

    @property
    def where(self) -> str:
        """The engine's URL as a message shows it: the one given, else $DOCKER_HOST, else the local socket."""
        return self.url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"

    def local_machine_id(self) -> str:
        """/etc/machine-id when the engine is on this machine (a unix socket); "" for a remote one or none."""
        if unix_socket_path(self.where) is None:
            return ""
        try:
            return Path("/etc/machine-id").read_text().strip()
        except OSError:
            return ""


def unix_socket_path(url: str) -> str | None:
    """The socket path of a ``unix://`` engine URL, else None."""
    if not url.startswith("unix://"):
        return None
    return "/" + url[len("unix://") :].lstrip("/")


def tls_failure_reason(exc: Exception) -> str | None:
    """What a failed TLS handshake says ("certificate verify failed: ..."), or None when it was no TLS failure."""
    text = str(exc)
    match = re.search(r"\[SSL: [A-Z0-9_]+\] ([^()']+)", text) or re.search(r"\[SSL\] ([^()']+)", text)
    if match:
        return match.group(1).strip()
    return "TLS handshake failed" if "SSLError" in text else None
