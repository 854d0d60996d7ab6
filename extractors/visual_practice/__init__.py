"""Visual Practice extractors: REST API (primary) and admin-panel CSV export (fallback)."""
