"""Pipedrive loader (client, field catalogue, load lifecycle). Built in the Pipedrive issues."""
