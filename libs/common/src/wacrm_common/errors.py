"""The application error tree: each error knows its HTTP status and stable code."""

from __future__ import annotations


class AppError(Exception):
    """A failure with a known cause; in workers it is permanent (DLQ), never retried."""

    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(AppError):
    status = 422
    code = "invalid_input"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class PermissionDenied(AppError):
    status = 403
    code = "permission_denied"


class Unauthenticated(AppError):
    status = 401
    code = "unauthenticated"
