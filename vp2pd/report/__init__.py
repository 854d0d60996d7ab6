"""The migration report of a run: `build_report(cfg, run_id) -> Path` writes
`runs/<customer>/<run_id>/report.html` (see build.py); `run_folder(cfg, run_id)` is that folder."""

from vp2pd.report.build import build_report, run_folder

__all__ = ["build_report", "run_folder"]
