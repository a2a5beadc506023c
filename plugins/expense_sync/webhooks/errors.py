"""Why a delivery is refused: one exception carrying the HTTP status and a fixed, short reason.

The reason goes into the response and into the one log line each refusal gets, so it never holds
request data, a secret or the body: only the fixed texts written at the ``raise`` sites.
``detail`` goes into the log line only (setting names, an SQLSTATE), never into the response.
"""

from __future__ import annotations


class Rejected(Exception):
    """Refuse the delivery with ``status`` (4xx, or 503 when the sender should retry)."""

    def __init__(self, status: int, reason: str, *, retry_after: int | None = None, detail: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after
        self.detail = detail  # for the log line only (e.g. which setting is wrong); never a value

    def again(self) -> Rejected:
        """The same refusal as a new exception (for each of several deliveries refused together)."""
        return Rejected(self.status, self.reason, retry_after=self.retry_after, detail=self.detail)


def bad_request(reason: str) -> Rejected:
    return Rejected(400, reason)


def unauthorized(reason: str) -> Rejected:
    return Rejected(401, reason)


def not_found() -> Rejected:
    """Answered exactly as a path that does not exist (a wrong secret path token, an unconfigured
    sender): the refusal tells a prober nothing."""
    return Rejected(404, "not found")
