"""Seeded trouble on purpose: latency and 502/503 (the Visual Practice sandbox's `Faults`), plus
dropped connections, 429 storms and writes applied then answered 504, each from its own random
stream so that turning one on does not change which requests the others hit.

A dropped connection (see `gate.drop_connection`): under uvicorn the sandbox aborts the socket
before answering, so an httpx client sees `httpx.RemoteProtocolError` ("Server disconnected without
sending a response"), as when a real edge drops it. In process, httpx's ASGITransport has no socket:
the sandbox raises `ConnectionDropped` (a ConnectionError) and the transport passes it to the caller,
so a client under test should treat it like a transport error.
"""

from __future__ import annotations

import random

from sandbox.visual_practice.faults import Faults


class ConnectionDropped(ConnectionError):
    """Raised by the sandbox to close a connection without an answer."""


class PipedriveFaults(Faults):
    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self._drops = random.Random(f"{seed}:drops")
        self._storms = random.Random(f"{seed}:storms")
        self._applied = random.Random(f"{seed}:applied")
        self.storm_until = 0.0

    def fails_after_applying(self, rate: float) -> bool:
        return self._applied.random() < rate

    def drops(self, rate: float) -> bool:
        return self._drops.random() < rate

    def in_storm(self, rate: float, storm_s: float, now: float) -> bool:
        """True while a 429 storm lasts; each request outside one starts one with chance `rate`."""
        if now < self.storm_until:
            return True
        if self._storms.random() < rate:
            self.storm_until = now + storm_s
            return True
        return False
