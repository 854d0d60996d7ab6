"""Secrets come from the environment only, never from files, and are never printed.

`redact` is the one place that scrubs known secret values out of text that leaves the process
(logs, reports, error messages).
"""

from __future__ import annotations

import os

VP_API_KEY = "VP_API_KEY"
PIPEDRIVE_API_TOKEN = "PIPEDRIVE_API_TOKEN"
SECRET_ENV_VARS = (VP_API_KEY, PIPEDRIVE_API_TOKEN)


class MissingSecret(RuntimeError):
    pass


def require(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise MissingSecret(f"{name} is not set; export it in the environment (secrets are never read from files)")
    return value


def vp_api_key() -> str:
    return require(VP_API_KEY)


def pipedrive_api_token() -> str:
    return require(PIPEDRIVE_API_TOKEN)


def redact(text: str) -> str:
    for name in SECRET_ENV_VARS:
        value = os.environ.get(name)
        if value and len(value) >= 4:
            text = text.replace(value, f"<{name}>")
    return text
