"""Extractors: land source systems in the DuckDB warehouse."""
