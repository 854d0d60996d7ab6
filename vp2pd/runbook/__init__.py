"""Runbooks: the parameterized notebooks of `notebooks/`, the glue they call (`steps`), and
`vp2pd run`, which executes them with papermill into `runs/<customer>/<run_id>/`."""
