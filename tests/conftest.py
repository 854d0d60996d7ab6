"""Shared fixtures: generated practices (cached per session and options) and customer configs."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import pytest

from vp2pd.config import CustomerConfig, load_customer


@pytest.fixture(scope="session")
def practice_factory(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """`practice_factory(clients=…, seed=…, **options)` → a generated practice folder, made once."""
    from sandbox.visual_practice.generator import GeneratorOptions, generate

    made: dict[tuple, Path] = {}

    def make(**options: object) -> Path:
        key = tuple(sorted(options.items()))
        if key not in made:
            folder = tmp_path_factory.mktemp("practice")
            generate(folder, GeneratorOptions(**options))
            made[key] = folder
        return made[key]

    return make


@pytest.fixture
def customer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., CustomerConfig]:
    """The demo customer's config pointed at a private build folder, with settings overridden."""
    monkeypatch.setenv("VP_API_KEY", "test-key-9c1e")

    def make(**visual_practice: object) -> CustomerConfig:
        cfg = load_customer("demo")
        vp = cfg.visual_practice.model_copy(update={"base_url": "http://vp.test/api/v1", **visual_practice})
        return cfg.model_copy(update={"build_dir": tmp_path / "build", "visual_practice": vp})

    return make


def copy_practice(practice: Path, target: Path) -> Path:
    shutil.copytree(practice, target)
    return target
