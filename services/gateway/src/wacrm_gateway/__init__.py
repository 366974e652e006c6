"""wacrm gateway: the REST API (FastAPI) for the SPA and integrations."""
