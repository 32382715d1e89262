"""One JSON object per log line, for log collectors.

The project logs events as "Sync finished: account=%s created=%s ...". The
formatter keeps that rendered message and also turns every `key=%s` pair
of the format string into a field of its own. Each value comes from the
call's arguments rather than from the rendered text, so a value with
spaces or quotes stays whole. Named placeholders (`key=%(atom)s`, as in
gunicorn's access log) work the same way. Values of `extra=` that are
plain numbers, strings or booleans become fields too.

The formatter adds nothing that the log call did not pass, so the rule
that log lines carry ids and never contents or secrets stays with the
callers.
"""

import json
import logging
import re
from datetime import datetime, timezone

# The two log formats for logging's dictConfig, shared by the Django
# settings and the gunicorn config: LOG_FORMAT picks one.
FORMATTERS = {
    "json": {"()": "config.logformat.JsonFormatter"},
    "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
}

# A printf conversion: optional (name), flags, width, precision, length, type.
CONVERSION = re.compile(r"%(?:\((?P<name>[^)]*)\))?[#0\- +]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[hlL]?(?P<type>[diouxXeEfFgGcrsa%])")
KEY_BEFORE = re.compile(r"(?P<key>[A-Za-z_][A-Za-z0-9_]*)=$")
# Attributes every LogRecord has; anything else came from `extra=`.
RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
BASE_FIELDS = ("time", "level", "logger", "event", "message", "process")


def event_name(template):
    """Return the text before the first key=value pair, without its colon."""
    match = re.search(r"[A-Za-z_][A-Za-z0-9_]*=%", template)
    head = template[:match.start()] if match else template
    return head.strip().rstrip(":").strip()


def plain(value):
    """Return value as JSON can hold it: numbers, booleans and None as they are."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)


def fields_from_template(template, args):
    """Pair each `key=%s` of the format string with its argument."""
    fields = {}
    position = 0
    for match in CONVERSION.finditer(template):
        if match["type"] == "%":
            continue
        if match["name"] is not None:
            # gunicorn's atoms mapping resolves names that its keys() do not list.
            try:
                value = args[match["name"]]
            except (KeyError, TypeError):
                continue
        else:
            if not isinstance(args, tuple) or position >= len(args):
                break
            value = args[position]
            position += 1
        key = KEY_BEFORE.search(template, 0, match.start())
        if key is not None:
            fields[key["key"]] = plain(value)
    return fields


class JsonFormatter(logging.Formatter):
    """Format each record as one line of JSON with time, level, logger, event and fields."""

    def format(self, record):
        message = record.getMessage()
        template = record.msg if isinstance(record.msg, str) else str(record.msg)
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": event_name(template),
            "message": message,
            "process": record.process,
        }
        extra = {
            key: plain(value) for key, value in vars(record).items()
            if key not in RECORD_ATTRIBUTES and (value is None or isinstance(value, (bool, int, float, str)))
        }
        for key, value in {**extra, **fields_from_template(template, record.args)}.items():
            if key not in BASE_FIELDS:
                entry[key] = value

        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
