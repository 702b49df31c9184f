"""Log lines in the shape the 2014 ``docker_ddns`` script wrote (Ruby Logger).

Kept byte-compatible so that whatever greps or ships those logs keeps working::

    I, [2014-02-18T09:32:55.978414 #1942]  INFO -- : Event Fired (8311c4c09153): start
"""

from __future__ import annotations

import logging
import logging.handlers
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
        return format_line(record.levelno, when, record.process or 0, record.getMessage())


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
