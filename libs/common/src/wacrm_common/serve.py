"""How every service process starts: settings read once, JSON logs, uvicorn."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import uvicorn

from wacrm_common.logging import configure_logging
from wacrm_common.settings import Settings

# Below the pods' 30 s termination grace, so open websockets cannot hold a pod past it.
GRACEFUL_SHUTDOWN_S = 20


def serve(
    create_app: Callable[[Settings], Any],
    *,
    host: Callable[[Settings], str],
    port: Callable[[Settings], int],
) -> None:
    """The body of each service's main(): the only place that reads the environment."""
    settings = Settings()
    configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=host(settings),
        port=port(settings),
        log_config=None,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
