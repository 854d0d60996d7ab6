"""Scripted Pipedrive answers for the client's unit tests (httpx.MockTransport + FakeClock)."""

from __future__ import annotations

from typing import Any, Callable

import httpx

from loaders.pipedrive.client import PipedriveClient
from vp2pd.clock import FakeClock

TOKEN = "unit-token-5f1c0e9a7b"
BASE = "https://acme.pipedrive.com"

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Script:
    """Answers requests in order from a list; records (virtual time, request) of every one."""

    def __init__(self, clock: FakeClock, answers: list[Answer] | None = None) -> None:
        self.clock, self.answers, self.seen = clock, list(answers or []), []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((self.clock.now(), request))
        if not self.answers:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer(request) if callable(answer) else answer

    @property
    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for _, r in self.seen]


def ok(data: Any = None, **additional: Any) -> httpx.Response:
    body: dict[str, Any] = {"success": True, "data": data}
    if additional:
        body["additional_data"] = additional
    return httpx.Response(200, json=body)


def make_client(script: Script, **options: Any) -> PipedriveClient:
    return PipedriveClient(BASE, options.pop("token", TOKEN), clock=script.clock,
                           transport=httpx.MockTransport(script), **options)
