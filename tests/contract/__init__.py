"""Contract tests: the sandbox and the client against Pipedrive's official OpenAPI."""
