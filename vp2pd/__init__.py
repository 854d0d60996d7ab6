"""vp2pd: migrate a Visual Practice practice into Pipedrive CRM."""
__version__ = "0.1.0"
