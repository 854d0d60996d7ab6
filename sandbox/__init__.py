"""Emulators of the outside world, for tests, drills and the demo."""
