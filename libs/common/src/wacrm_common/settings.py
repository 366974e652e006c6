"""The one Settings object every service reads from its environment in main()."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration shared by all services; each reads only what it needs."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/wacrm"
    redis_url: str = "redis://127.0.0.1:6379/0"
    s3_endpoint_url: str | None = None
    s3_bucket: str = "wacrm-media"
    s3_access_key_id: SecretStr = SecretStr("wacrm")
    s3_secret_access_key: SecretStr = SecretStr("wacrm-secret")
    s3_region: str = "us-east-1"

    # No default: a secret in the source would let anyone forge tokens. `make up` makes
    # one per installation (.data/jwt-secret); deployments pass JWT_SECRET.
    jwt_secret: SecretStr | None = None
    jwt_ttl_seconds: int = 12 * 3600

    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    realtime_host: str = "127.0.0.1"
    realtime_port: int = 8001
    # Where the worker services (connector, ingest, media) serve health and metrics.
    bind_host: str = "127.0.0.1"
    connector_port: int = 8002
    ingest_port: int = 8003
    media_port: int = 8004

    # Streams: retention and consumer tuning (see streams.py).
    stream_maxlen: int = 1_000_000
    rt_stream_maxlen: int = 100_000
    consumer_batch: int = 500
    consumer_block_ms: int = 1000
    reclaim_idle_ms: int = 30_000
    max_attempts: int = 5

    # Connector: session lease, in milliseconds.
    lease_ms: int = 15_000
    connector_capacity: int = 500
    neonize_data_dir: str = ".data/neonize"

    # Simulator receipt delays (seconds) after a send: sent, delivered, read.
    sim_receipt_delays: tuple[float, float, float] = (0.2, 0.8, 2.0)

    log_level: str = "INFO"
    admin_email: str = "admin@example.com"
    admin_password: SecretStr | None = None
    demo_tenant_name: str = "Demo"

    instance_id: str = Field(default="", description="consumer name; hostname+pid when empty")

    def jwt_key(self) -> str:
        """The token signing key; services that issue or check tokens refuse to run without."""
        secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
        if len(secret) < 32:
            raise RuntimeError("JWT_SECRET must be set to at least 32 characters")
        if "change" in secret.lower():  # the placeholders of deploy/*.example
            raise RuntimeError("JWT_SECRET is still an example value: generate a random one")
        return secret
