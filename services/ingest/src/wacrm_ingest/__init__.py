"""wacrm ingest worker: consumes `wa:events` into PostgreSQL and announces changes."""
