"""Mapping proposals (issue 5): profile the raw columns, propose a field map, confirm it, gate on it.

Layer 1 maps source columns the alias table does not know to contract fields (`score.py`); layer 2
maps contract fields to Pipedrive fields (`propose.py`). `confirm.py` and `review.py` turn a
proposal into `mapping/confirmed.yml`; `gate.py` refuses to load without it.
"""
