"""Structured logs: one JSON object per line, with the request id of the request being served.

    {"ts": "2026-12-02T11:05:00.123Z", "level": "info", "logger": "verity.access",
     "message": "GET /v1/models 200", "request_id": "req_3f...", "method": "GET",
     "route": "/v1/models", "status": 200, "duration_ms": 1.2}

`verity serve` logs this way (VERITY_LOG_FORMAT=text for plain lines), uvicorn's own loggers included.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from app.http.request_ids import request_id

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line: time, level, logger, message, request id and any extras."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON object on one line."""
        at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        line: dict[str, Any] = {
            "ts": f"{at}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id.get()
        if rid is not None:
            line["request_id"] = rid
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def log_config(json_lines: bool = True, level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` for Verity and uvicorn: JSON lines (or plain text) on stderr."""
    formatter = (
        {"()": JsonFormatter} if json_lines else {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    )
    handler = {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"}
    loggers = {
        name: {"handlers": ["default"], "level": level, "propagate": False}
        for name in ("verity", "uvicorn", "uvicorn.error")
    }
    loggers["uvicorn.access"] = {"handlers": [], "level": "WARNING", "propagate": False}  # ours has the id
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        "loggers": loggers,
    }
