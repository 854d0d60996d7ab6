"""The GX suites run on the transform tests' messy practice (extracted through the API and built
with dbt once per session); the fixtures are imported, not copied."""

from tests.transform.conftest import messy  # noqa: F401  # re-exported as a fixture here
