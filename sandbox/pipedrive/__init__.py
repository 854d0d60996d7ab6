"""Pipedrive sandbox: the API twin built from the official OpenAPI documents (Pipedrive issue)."""
