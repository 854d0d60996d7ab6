"""Progress bars of `vp2pd load`: per object, with rate and ETA, on a terminal only unless asked."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from loaders.pipedrive.load import Loader
from loaders.pipedrive.progress import BarProgress, NoProgress, for_terminal
from tests.contract.pipedrive_sandbox import run_async
from tests.load.conftest import Env
from tests.load.helpers import client_for, setup
from tests.load.test_load import mart_counts


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def recording() -> tuple[BarProgress, io.StringIO]:
    out = io.StringIO()
    return BarProgress(Console(file=out, force_terminal=True, width=140, color_system=None)), out


def test_bars_only_on_a_terminal_unless_asked() -> None:
    assert isinstance(for_terminal(None, io.StringIO()), NoProgress)  # a CI log: no frames in it
    assert isinstance(for_terminal(None, Tty()), BarProgress)
    assert isinstance(for_terminal(True, io.StringIO()), BarProgress)
    assert isinstance(for_terminal(False, Tty()), NoProgress)


def test_a_bar_counts_from_what_was_loaded_before_and_shows_rate_and_eta() -> None:
    bars, out = recording()
    bars.start("persons", 10, 4)  # a resume: 4 loaded by an earlier run
    bars.advance("persons", 3)
    bars.bars.refresh()
    assert re.search(r"persons\s.*7/10.*/s.*ETA", out.getvalue()), out.getvalue()
    bars.start("persons", 10, 4)  # the step's next pass keeps its bar
    bars.advance("persons", 3)
    bars.close()
    assert "10/10" in out.getvalue() and len(bars.tasks) == 1


@pytest.mark.xdist_group("load")
@pytest.mark.slow
@run_async
async def test_a_load_draws_one_bar_per_object_ending_at_its_rows(env: Env) -> None:
    await setup(env)
    bars, out = recording()
    ledger = env.ledger()
    try:
        async with client_for(env) as client:
            result = await Loader(client, ledger, env.home, currency="CAD", progress=bars).run()
    finally:
        ledger.close()
    assert result.status == "completed"
    final = out.getvalue()
    for obj, rows in mart_counts(env).items():
        assert re.search(rf"{obj}\s.*\b{rows}/{rows}\b", final), (obj, rows)
