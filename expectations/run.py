"""`vp2pd validate`: run the raw and marts suites over a customer's warehouse with Great Expectations.

GX's SQL datasource fails on DuckDB, so each check's query is streamed out of DuckDB as Arrow
record batches of `chunk_rows` rows, and each batch is validated as a pandas dataframe: memory
stays bounded by the chunk, whatever the table's size. Results are summed per expectation across
chunks. The run writes `validation_<suite>.json` and GX Data Docs (`data_docs/index.html`) under
`build/<customer>/reports/`; a failed critical expectation stops the run with `ValidationFailed`,
naming the failing rows.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no usage statistics leave the machine

import duckdb  # noqa: E402
import great_expectations as gx  # noqa: E402
import pandas as pd  # noqa: E402
from great_expectations.core.run_identifier import RunIdentifier  # noqa: E402
from great_expectations.data_context.types.base import (  # noqa: E402
    DataContextConfig, InMemoryStoreBackendDefaults, ProgressBarsConfig)

from expectations.checks import CRITICAL, Check  # noqa: E402
from expectations.marts_suite import mart_checks  # noqa: E402
from expectations.raw_suite import raw_checks  # noqa: E402
from vp2pd.config import CustomerConfig  # noqa: E402
from vp2pd.warehouse import connect  # noqa: E402

SUITES = ("raw", "marts")
CHUNK_ROWS = 25_000  # 100k practice: peak 1.24 GiB at 50,000 rows, 1.13 at 25,000, 1.09 at 10,000 (and 2x the time)
DOCS_SITE = "vp2pd"
NAMED_ROWS = 20  # failing rows kept per expectation (the counts are always complete)


class ValidationFailed(RuntimeError):
    """A critical expectation failed; the message names the table, the rows, the values."""


@dataclass
class Outcome:
    """One expectation's result over all the chunks of its check."""

    check: str
    table: str
    expectation: str
    column: str | None
    severity: str
    success: bool = True
    rows: int = 0
    failing: int = 0
    failing_rows: list[dict[str, Any]] = field(default_factory=list)

    def describe(self) -> str:
        rows = "; ".join(", ".join(f"{k}={v!r}" for k, v in r.items()) for r in self.failing_rows)
        more = f" (first {len(self.failing_rows)})" if self.failing > len(self.failing_rows) else ""
        return (f"{self.severity} {self.expectation}({self.column or ''}) on {self.table} [{self.check}]: "
                f"{self.failing} of {self.rows} rows fail{more}: {rows}")


@dataclass
class SuiteResult:
    suite: str
    outcomes: list[Outcome]
    chunks: int
    path: Path

    @property
    def critical_failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.severity == CRITICAL]

    @property
    def warnings(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.severity != CRITICAL]


def chunks(con: duckdb.DuckDBPyConnection, sql: str, rows: int) -> Iterator[pd.DataFrame]:
    """The query's rows as dataframes of at most `rows` rows; an empty result gives one empty frame
    so its expectations are still reported."""
    reader = con.sql(sql).to_arrow_reader(rows)
    empty = True
    for batch in reader:
        if batch.num_rows:
            empty = False
            yield batch.to_pandas()
    if empty:
        yield reader.schema.empty_table().to_pandas()


def _context(docs_dir: Path) -> Any:
    """An in-memory GX context (suites are code, rebuilt each run) whose only Data Docs site is
    `docs_dir`: nothing is written outside the customer's reports folder."""
    return gx.get_context(mode="ephemeral", project_config=DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites={DOCS_SITE: {
            "class_name": "SiteBuilder",
            # GX wants an absolute folder; the customer's build_dir is usually relative ("build").
            "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                              "base_directory": str(docs_dir.resolve())},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }}))


def _validate_check(context: Any, con: duckdb.DuckDBPyConnection, check: Check, chunk_rows: int,
                    run_time: datetime) -> tuple[list[Outcome], int]:
    source = context.data_sources.add_pandas(check.name)
    batch_definition = source.add_dataframe_asset(check.name).add_batch_definition_whole_dataframe("chunk")
    suite = context.suites.add(gx.ExpectationSuite(name=check.name, expectations=check.expectations))
    definition = context.validation_definitions.add(gx.ValidationDefinition(
        name=check.name, data=batch_definition, suite=suite))
    fmt = {"result_format": "SUMMARY", "unexpected_index_column_names": list(check.id_columns),
           "partial_unexpected_count": NAMED_ROWS, "return_unexpected_index_query": False}
    outcomes = [Outcome(check.name, check.table, e.expectation_type, getattr(e, "column", None) or
                        getattr(e, "column_A", None), str(e.severity.value)) for e in suite.expectations]
    n = 0
    start = 0
    for n, frame in enumerate(chunks(con, check.sql, chunk_rows), 1):
        run_id = RunIdentifier(run_name=f"{check.name}.rows-{start + 1}-{start + len(frame)}", run_time=run_time)
        start += len(frame)
        result = definition.run(batch_parameters={"dataframe": frame}, result_format=fmt, run_id=run_id)
        for outcome, res in zip(outcomes, result.results):
            _add(outcome, res, len(frame), check.id_columns)
    return outcomes, n


def _add(outcome: Outcome, res: Any, frame_rows: int, id_columns: tuple[str, ...]) -> None:
    if res.exception_info and res.exception_info.get("raised_exception"):
        raise ValidationFailed(f"{outcome.expectation}({outcome.column}) on {outcome.table} [{outcome.check}] "
                               f"could not be evaluated: {res.exception_info['exception_message']}")
    outcome.rows += res.result.get("element_count", frame_rows)
    outcome.success = outcome.success and bool(res.success)
    outcome.failing += res.result.get("unexpected_count") or 0
    room = NAMED_ROWS - len(outcome.failing_rows)
    named = res.result.get("partial_unexpected_index_list") or []
    outcome.failing_rows += [_plain(r, id_columns) for r in named[:room]]


def _plain(row: dict[str, Any], id_columns: tuple[str, ...]) -> dict[str, Any]:
    """A failing row for JSON and messages: its ids first, then the values; numpy scalars as Python."""
    ordered = [*(c for c in id_columns if c in row), *(c for c in row if c not in id_columns)]
    return {k: row[k].item() if hasattr(row[k], "item") else None if pd.isna(row[k]) else row[k] for k in ordered}


def suite_checks(suite: str, con: duckdb.DuckDBPyConnection, cfg: CustomerConfig) -> list[Check]:
    try:
        return raw_checks() if suite == "raw" else mart_checks(con, cfg)
    except duckdb.Error as exc:
        raise ValidationFailed(f"the {suite} suite cannot read the warehouse (has `vp2pd transform` run?): "
                               f"{exc}") from exc


def validate(cfg: CustomerConfig, suites: tuple[str, ...] = SUITES, chunk_rows: int = CHUNK_ROWS) -> list[SuiteResult]:
    """Validate the customer's warehouse; raises ValidationFailed after the first suite with a
    failed critical expectation (its results and the Data Docs are written first)."""
    warehouse = cfg.warehouse_path
    if not warehouse.is_file():
        raise ValidationFailed(f"no warehouse at {warehouse}: run `vp2pd extract` and `vp2pd transform` first")
    reports = cfg.reports_dir
    docs = reports / "data_docs"
    shutil.rmtree(docs, ignore_errors=True)  # the Data Docs show this run, not earlier ones
    reports.mkdir(parents=True, exist_ok=True)
    context = _context(docs)
    run_time = datetime.now(timezone.utc)
    results: list[SuiteResult] = []
    con = connect(warehouse, read_only=True)
    try:
        for suite in suites:
            outcomes: list[Outcome] = []
            total_chunks = 0
            for check in suite_checks(suite, con, cfg):
                try:
                    found, n = _validate_check(context, con, check, chunk_rows, run_time)
                except duckdb.Error as exc:
                    raise ValidationFailed(f"{check.name} cannot read {check.table} (has `vp2pd transform` run?): "
                                           f"{exc}") from exc
                outcomes += found
                total_chunks += n
            result = SuiteResult(suite, outcomes, total_chunks, reports / f"validation_{suite}.json")
            _write(result, cfg, run_time, chunk_rows)
            results.append(result)
            if result.critical_failures:
                break
    finally:
        con.close()
        context.build_data_docs(site_names=[DOCS_SITE])
    failed = [o for r in results for o in r.critical_failures]
    if failed:
        raise ValidationFailed(f"{len(failed)} critical expectation(s) failed in suite {results[-1].suite} "
                               f"(details in {results[-1].path}, Data Docs {docs / 'index.html'}):\n"
                               + "\n".join(f"- {o.describe()}" for o in failed))
    return results


def _write(result: SuiteResult, cfg: CustomerConfig, run_time: datetime, chunk_rows: int) -> None:
    payload = {
        "suite": result.suite, "customer": cfg.slug, "warehouse": str(cfg.warehouse_path),
        "run_time": run_time.isoformat(timespec="seconds"), "chunk_rows": chunk_rows, "chunks": result.chunks,
        "success": not result.critical_failures, "critical_failures": len(result.critical_failures),
        "warnings": len(result.warnings), "expectations": [asdict(o) for o in result.outcomes],
    }
    result.path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
