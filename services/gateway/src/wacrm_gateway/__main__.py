"""Entry point: `python -m wacrm_gateway`."""

from __future__ import annotations

from wacrm_common.serve import serve
from wacrm_gateway.app import create_app


def main() -> None:
    serve(create_app, host=lambda s: s.gateway_host, port=lambda s: s.gateway_port)


if __name__ == "__main__":
    main()
