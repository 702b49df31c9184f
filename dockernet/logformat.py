"""Log lines in the shape the 2014 ``docker_ddns`` script wrote (Ruby Logger).

Kept byte-compatible so that whatever greps or ships those logs keeps working::

    I, [2014-02-18T09:32:55.978414 #1942]  INFO -- : Event Fired (8311c4c09153): start
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from datetime import datetime

LOGGER_NAME = "dockernet"

# Ruby Logger's severity labels; Python's WARNING and CRITICAL map onto them.
_RUBY_SEVERITY = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARN",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "FATAL",
}


#: characters of one value shown, at most: a label may hold a megabyte, a log line should not
SHOWN = 200


def printable(text: str, limit: int = SHOWN) -> str:
    """``text`` as one line of printable ASCII, for values a container supplied.

    Hostnames, names and labels are untrusted: a newline in one would start
    a forged log line, a bidi control could hide text. Backslash and quote
    are escaped too, so ``'...'`` around the result stays unambiguous. Only
    the first ``limit`` characters are shown, then how many were left out.
    """
    out = []
    for char in text[:limit]:
        if " " <= char <= "~" and char not in "\\'":
            out.append(char)
        elif char in "\\'":
            out.append("\\" + char)
        elif char in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[char])
        elif ord(char) < 0x100:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    if len(text) > limit:
        out.append(f"...({len(text) - limit} more characters)")
    return "".join(out)


_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}
# Line breaks and invisible controls: C0, DEL, C1, the Unicode line/paragraph separators and bidi controls.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def one_line(message: str) -> str:
    """The last guard: whatever a message holds, it is written as exactly one line."""
    return _CONTROLS.sub(lambda match: printable(match.group()), message)


def ruby_severity(levelno: int) -> str:
    for level in sorted(_RUBY_SEVERITY, reverse=True):
        if levelno >= level:
            return _RUBY_SEVERITY[level]
    return "ANY"


def format_line(levelno: int, when: datetime, pid: int, message: str, progname: str = "") -> str:
    """One line as Ruby's ``Logger::Formatter`` writes it: ``%s, [%s #%d] %5s -- %s: %s``."""
    severity = ruby_severity(levelno)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%f")
    return f"{severity[0]}, [{stamp} #{pid}] {severity:>5} -- {progname}: {message}"


class RubyLoggerFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created)
        return format_line(record.levelno, when, record.process or 0, one_line(record.getMessage()))


def setup_logging(destination: str | None, level: int = logging.INFO) -> logging.Logger:
    """Send dockernet's log to ``destination``: a file path, ``-`` for stdout, None for stderr.

    A file is opened with ``WatchedFileHandler`` so that logrotate can move it
    away without the watcher writing into the rotated file forever.
    """
    if destination is None:
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
    elif destination == "-":
        handler = logging.StreamHandler(sys.stdout)
    else:
        handler = logging.handlers.WatchedFileHandler(destination)
    handler.setFormatter(RubyLoggerFormatter())
    logger = logging.getLogger(LOGGER_NAME)
    for old in list(logger.handlers):
        logger.removeHandler(old)
        old.close()
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return logger
