"""What every benchmark reports: a measured figure, its reference, the ratio and the target.

Each benchmark module `benchmarks/bench_<name>.py` has `run() -> list[Result]`; results are
printed and written to `benchmarks/results/<name>.json` with the machine they ran on.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator
from contextlib import contextmanager

RESULTS_DIR = Path(__file__).parent / "results"
BUILD_DIR = Path("build/bench")


@dataclass
class Result:
    name: str
    measured: float
    reference: float
    unit: str
    ratio: float
    target: str  # e.g. ">= 0.95"
    passed: bool
    details: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        mark = "PASS" if self.passed else "FAIL"
        return (f"[{mark}] {self.name}: ratio {self.ratio:.3f} (target {self.target}); "
                f"measured {self.measured:,.3f} {self.unit} vs reference {self.reference:,.3f} {self.unit}")


def check(ratio: float, target: str) -> bool:
    op, value = target.split()
    return {">=": ratio >= float(value), "<=": ratio <= float(value), "<": ratio < float(value),
            ">": ratio > float(value)}[op]


def save(module: str, results: list[Result]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{module}.json"
    payload = {
        "benchmark": module,
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "results": [asdict(r) for r in results],
    }
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return path


@contextmanager
def timer() -> Iterator[Callable[[], float]]:
    start = time.perf_counter()
    elapsed: list[float] = []
    yield lambda: elapsed[0] if elapsed else time.perf_counter() - start
    elapsed.append(time.perf_counter() - start)


def peak_rss_mib(children: bool = False) -> float:
    """Peak resident memory of this process (or of its finished children), MiB (Linux: KiB units)."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


def serve_cli(args: list[str], env: dict[str, str], start_timeout_s: float = 60.0) -> tuple[subprocess.Popen, str]:
    """Run `vp2pd <args> --port P` (a sandbox) in its own process, so it does not share the measured
    client's core; returns the process and its base URL once it accepts connections."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "vp2pd.cli", *args, "--port", str(port)],
                              env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + start_timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"vp2pd {' '.join(args)} exited with {server.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"vp2pd {' '.join(args)} did not start within {start_timeout_s:.0f}s")


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(10)
