"""The synthetic Visual Practice practice generator: the sandbox's store, a CSV export and the
manifest of the quirks and defects put into them (`quirks.json`), deterministic per seed."""

from sandbox.visual_practice.generator.options import GeneratorOptions, OptionsError
from sandbox.visual_practice.generator.run import GenerationSummary, generate

__all__ = ["GeneratorOptions", "GenerationSummary", "OptionsError", "generate"]
