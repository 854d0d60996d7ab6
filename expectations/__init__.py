"""Great Expectations suites for the raw layer and the marts (transform issue)."""
