"""Entry point: `python -m wacrm_realtime`."""

from __future__ import annotations

from wacrm_common.serve import serve
from wacrm_realtime.app import create_app


def main() -> None:
    serve(create_app, host=lambda s: s.realtime_host, port=lambda s: s.realtime_port)


if __name__ == "__main__":
    main()
