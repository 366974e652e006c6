"""Entry point: `python -m wacrm_media`."""

from __future__ import annotations

import uvicorn

from wacrm_common.logging import configure_logging
from wacrm_common.settings import Settings
from wacrm_media.app import create_app


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.bind_host,
        port=settings.media_port,
        log_config=None,
        timeout_graceful_shutdown=20,
    )


if __name__ == "__main__":
    main()
