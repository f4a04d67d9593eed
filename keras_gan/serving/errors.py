"""Errors of the serving API, with TF Serving's status codes.

Both the embedded server and the clients use :class:`ServingError`: ``code`` is a
canonical status name (``"INVALID_ARGUMENT"``, ``"NOT_FOUND"``, ...), the same on
gRPC and REST, and ``http_status`` is the HTTP status TF Serving's REST API maps
it to (``INVALID_ARGUMENT`` -> 400, ``NOT_FOUND`` -> 404, ...).
"""

from __future__ import annotations

#: TF Serving's mapping of canonical codes to HTTP statuses (http_server.cc).
HTTP_STATUS = {
    "OK": 200,
    "CANCELLED": 499,
    "UNKNOWN": 500,
    "INVALID_ARGUMENT": 400,
    "DEADLINE_EXCEEDED": 504,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "PERMISSION_DENIED": 403,
    "RESOURCE_EXHAUSTED": 429,
    "FAILED_PRECONDITION": 400,
    "ABORTED": 409,
    "OUT_OF_RANGE": 400,
    "UNIMPLEMENTED": 501,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DATA_LOSS": 500,
    "UNAUTHENTICATED": 401,
}

_CODE_OF_HTTP = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class ServingError(Exception):
    """A request failed: ``code`` (canonical status name), ``message``, and
    ``http_status`` (the REST status; the real one when it came from a server)."""

    def __init__(self, code, message, http_status=None):
        code = code if code in HTTP_STATUS else "UNKNOWN"
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = str(message)
        self.http_status = http_status if http_status is not None else HTTP_STATUS[code]

    @classmethod
    def from_http(cls, status, message):
        """The error for an HTTP error ``status`` (as a client received it)."""
        code = _CODE_OF_HTTP.get(status, "INTERNAL" if status >= 500 else "INVALID_ARGUMENT")
        return cls(code, message, http_status=status)


def invalid(message):
    return ServingError("INVALID_ARGUMENT", message)


def not_found(message):
    return ServingError("NOT_FOUND", message)


def release(error):
    """Drop the tracebacks of a handled ``error`` and of the errors it chains.

    A traceback keeps every frame it passed through alive, with their locals:
    here the request's body and its parsed JSON (millions of objects for a
    body at ``--max_request_bytes``). The REST handler's frame also holds the
    future that holds the error, a reference cycle that only a full garbage
    collection frees, and those are rare in a process holding TensorFlow. So
    the memory of every refused request stayed in use for a while; releasing the
    tracebacks once the error is answered frees it at once.
    """
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        error.__traceback__ = None
        error = error.__cause__ or error.__context__
