"""Loaders: send the marts to target systems."""
