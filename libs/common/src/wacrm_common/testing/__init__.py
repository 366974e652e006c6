"""Test support: a pytest plugin that provides real PostgreSQL, Valkey and S3 servers."""
