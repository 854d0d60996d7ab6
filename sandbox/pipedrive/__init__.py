"""The Pipedrive sandbox: API v2 and the v1 endpoints Pipedrive has no v2 for, as a Starlette app."""
