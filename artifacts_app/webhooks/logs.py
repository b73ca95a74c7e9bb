"""A logging filter that keeps the webhook token out of logs.

The token is the webhook's only secret and it sits in the URL, which Django logs for every
4xx and 5xx answer ("Not Found: /hooks/xcode-cloud/<token>").
"""

import logging
import re

_TOKEN_PATH = re.compile(r"(/hooks/xcode-cloud/)[^\s/?\"']+")


def redact(text: str) -> str:
    return _TOKEN_PATH.sub(r"\1…", text)


class RedactWebhookToken(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True
