"""Run the benchmarks: `python -m benchmarks [name ...]` (all of `bench_*.py` by default)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

from benchmarks.harness import save


def main(argv: list[str]) -> int:
    here = str(Path(__file__).parent)
    names = argv or sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules([here]) if m.name.startswith("bench_"))
    failed = 0
    for name in names:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        print(f"== {name}", flush=True)
        results = module.run()
        for result in results:
            print(result.line(), flush=True)
            failed += not result.passed
        print(f"   results written to {save(name, results)}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
