"""Which driver class serves which `driver` name of a session."""

from __future__ import annotations

from wacrm_common.errors import InvalidInput
from wacrm_connector.drivers.base import Driver, SessionContext
from wacrm_connector.drivers.sim import SimDriver


def make_driver(name: str, ctx: SessionContext) -> Driver:
    if name == "sim":
        return SimDriver(ctx)
    if name == "neonize":
        from wacrm_connector.drivers.neonize import NeonizeDriver  # loads the Go library

        return NeonizeDriver(ctx)
    raise InvalidInput(f"unknown driver {name!r}")
