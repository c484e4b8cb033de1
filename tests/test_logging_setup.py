"""Log formats: a JSON line carries the request's ids and the writing process; a plain line stays readable, with
the ids at its end."""

from __future__ import annotations

import json
import logging
import logging.config

from weir.logging_setup import RequestContext, _current, log_config


def formatted(log_format: str, process: str | None) -> str:
    config = log_config(log_format, "info", process)  # type: ignore[arg-type]
    configurator = logging.config.DictConfigurator(config)  # builds only the formatter and the filter
    formatter = configurator.configure_formatter(config["formatters"][log_format])
    context_filter = configurator.configure_filter(config["filters"]["weir"])
    record = logging.LogRecord("weir.test", logging.WARNING, __file__, 1, "hello %s", ("there",), None)
    scope = {"path": "/api/v1/video/call/default/abc", "path_params": {"type": "default", "id": "abc"}}
    context = RequestContext("req-1", scope)
    context.user_id = "alice"
    token = _current.set(context)
    try:
        assert context_filter.filter(record)
    finally:
        _current.reset(token)
    return str(formatter.format(record))


def test_a_json_line_names_the_request_the_user_the_call_and_the_process() -> None:
    line = json.loads(formatted("json", "weir-sfu-worker-3"))
    assert line["level"] == "warning" and line["logger"] == "weir.test" and line["message"] == "hello there"
    assert (line["request_id"], line["user_id"], line["call_cid"]) == ("req-1", "alice", "default:abc")
    assert line["process"] == "weir-sfu-worker-3" and line["timestamp"].endswith("+00:00")


def test_a_plain_line_is_text_with_the_ids_at_the_end() -> None:
    line = formatted("plain", None)
    assert line.endswith("WARNING weir.test: hello there request_id=req-1 user_id=alice call_cid=default:abc")
