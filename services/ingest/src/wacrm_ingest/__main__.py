"""Entry point: `python -m wacrm_ingest`."""

from __future__ import annotations

from wacrm_common.serve import serve
from wacrm_ingest.app import create_app


def main() -> None:
    serve(create_app, host=lambda s: s.bind_host, port=lambda s: s.ingest_port)


if __name__ == "__main__":
    main()
