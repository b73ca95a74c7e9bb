"""Apple's error documents, as the simulator raises and renders them."""

from __future__ import annotations

import uuid
from typing import Any

REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, title: str, detail: str, parameter: str = ""):
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.parameter = parameter

    def document(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "status": str(self.status),
            "code": self.code,
            "title": self.title,
            "detail": self.detail,
        }
        if self.parameter:
            error["source"] = {"parameter": self.parameter}
        return {"errors": [error]}


def not_found(kind: str, resource_id: str) -> ApiError:
    return ApiError(
        404,
        "NOT_FOUND",
        "The specified resource does not exist",
        f"There is no resource of type '{kind}' with id '{resource_id}'",
    )


def no_such_path(path: str) -> ApiError:
    return ApiError(
        404,
        "NOT_FOUND",
        "The specified resource does not exist",
        f"The path '{path}' is not a resource of this API",
    )


def invalid(parameter: str, detail: str, code: str = "PARAMETER_ERROR.INVALID") -> ApiError:
    return ApiError(400, code, "A parameter has an invalid value", detail, parameter)


def unauthorized(reason: str) -> ApiError:
    return ApiError(
        401,
        "NOT_AUTHORIZED",
        "Authentication credentials are missing or invalid.",
        f"Provide a properly configured and signed bearer token: {reason}.",
    )


def rate_limited() -> ApiError:
    return ApiError(
        429,
        "RATE_LIMIT_EXCEEDED",
        "The request rate limit has been reached.",
        "We've received too many requests for this API. "
        "Please wait and try again or slow down your request rate.",
    )


def server_error(status: int) -> ApiError:
    return ApiError(
        status,
        "UNEXPECTED_ERROR" if status == 500 else "SERVICE_UNAVAILABLE",
        "An unexpected error occurred.",
        "The server failed; try again later.",
    )


def method_not_allowed() -> ApiError:
    return ApiError(
        405,
        "METHOD_NOT_ALLOWED",
        "The request method is not allowed",
        "The simulator serves GET requests only",
    )
