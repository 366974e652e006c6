"""Request body size limit: a body over the limit is refused (413) before it is read whole."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wacrm_common.errors import AppError

MAX_BODY_BYTES = 25 * 1024 * 1024  # the largest body we take is a 20 MB chat export
TOO_LARGE = "wacrm.body_too_large"


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"


class BodyLimit:
    """ASGI middleware: trusts no client; counts what arrives, whatever Content-Length says."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await _refuse(send, self.max_bytes)
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # FastAPI turns errors while reading a body into a 400; the mark
                    # lets the error handler answer what really happened.
                    scope[TOO_LARGE] = True
                    raise PayloadTooLarge(f"request body over {self.max_bytes} bytes")
            return message

        await self.app(scope, limited, send)


async def _refuse(send: Send, max_bytes: int) -> None:
    body = (
        b'{"error":{"code":"payload_too_large","message":"request body over '
        + str(max_bytes).encode()
        + b' bytes"}}'
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
