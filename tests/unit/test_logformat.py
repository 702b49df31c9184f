import logging
from datetime import datetime

import pytest

from dockernet.logformat import RubyLoggerFormatter, format_line, setup_logging


def test_line_matches_the_seed_script_byte_for_byte():
    when = datetime(2014, 2, 18, 9, 32, 55, 978414)
    line = format_line(logging.INFO, when, 1942, "Event Fired (8311c4c09153): create")
    assert line == "I, [2014-02-18T09:32:55.978414 #1942]  INFO -- : Event Fired (8311c4c09153): create"


def test_severity_labels_and_padding_follow_ruby_logger():
    when = datetime(2014, 2, 18, 9, 32, 55, 1)
    assert format_line(logging.WARNING, when, 7, "m") == "W, [2014-02-18T09:32:55.000001 #7]  WARN -- : m"
    assert format_line(logging.ERROR, when, 7, "m") == "E, [2014-02-18T09:32:55.000001 #7] ERROR -- : m"
    assert format_line(logging.DEBUG, when, 7, "m") == "D, [2014-02-18T09:32:55.000001 #7] DEBUG -- : m"
    assert format_line(logging.CRITICAL, when, 7, "m") == "F, [2014-02-18T09:32:55.000001 #7] FATAL -- : m"


def test_formatter_uses_record_time_and_pid():
    record = logging.LogRecord("dockernet", logging.INFO, __file__, 1, "Updated %s", ("x",), None)
    record.created = datetime(2020, 1, 2, 3, 4, 5, 6).timestamp()
    record.process = 42
    assert RubyLoggerFormatter().format(record) == "I, [2020-01-02T03:04:05.000006 #42]  INFO -- : Updated x"


@pytest.fixture
def dockernet_logger():
    """The process-wide "dockernet" logger, restored afterwards: setup_logging stops it propagating,
    and later tests read its records through pytest's caplog (on the root logger)."""
    logger = logging.getLogger("dockernet")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield logger
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    handlers, level, propagate = saved
    for handler in handlers:
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = propagate


def test_setup_logging_writes_to_a_file(tmp_path, dockernet_logger):
    path = tmp_path / "watch.log"
    logger = setup_logging(str(path))
    assert logger is dockernet_logger
    logger.info("Event Fired (%s): %s", "abc", "start")
    for handler in logger.handlers:
        handler.flush()
    text = path.read_text()
    assert text.startswith("I, [") and text.rstrip().endswith("INFO -- : Event Fired (abc): start")
