"""Typed vendor API errors.

Every error keeps the vendor, the HTTP status and the vendor's own error code, so that retry rules,
tests and operators can act on them. Messages name the endpoint *path* only: vendors put tokens in
query strings, so a URL never goes into an error message.
"""

from __future__ import annotations


class VendorError(Exception):
    """A vendor API call failed."""

    def __init__(
        self,
        message: str,
        *,
        vendor: str = "",
        endpoint: str = "",
        status: int | None = None,
        code: str | int | None = None,
    ) -> None:
        self.vendor = vendor
        self.endpoint = endpoint
        self.status = status
        self.code = code
        self.message = message
        where = " ".join(p for p in (vendor, endpoint) if p)
        detail = ", ".join(f"{k}={v}" for k, v in (("status", status), ("code", code)) if v is not None and v != "")
        super().__init__(f"{where}: {message}" + (f" ({detail})" if detail else ""))


class TransientVendorError(VendorError):
    """Retryable: timeouts, connection failures, 5xx, "system busy".

    ``retried`` is set once a retry loop has given up on it, so that an enclosing call (a request
    that needed a token) does not retry it again: retries never multiply.
    """

    retried = False


class ThrottledError(TransientVendorError):
    """The vendor asked us to slow down (HTTP 429, or a throttle code inside a 200 body)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class TokenInvalidError(VendorError):
    """The access token or session is invalid or expired: fetch a new one and try again."""


class AuthenticationError(VendorError):
    """The credentials themselves were refused. Not retryable: fix the connection."""


class VendorRequestError(VendorError):
    """The vendor refused the request (validation or business rule). Not retryable as is."""


class OutcomeUnknownError(VendorError):
    """A non-idempotent call failed in a way that leaves its effect unknown (timeout, 5xx).

    The caller must find out by reading the vendor (look the record up by its business key)
    before it sends the call again.
    """


class ConfigurationError(VendorError):
    """The Airflow connection is incomplete or has settings the hook does not know."""


class EndpointError(VendorError):
    """The endpoint is unusable as configured: it redirects (a wrong host or scheme) or its TLS
    certificate is refused. Not retried: fix the connection or the certificate. Not a refusal
    either: a TLS failure can come after the call was sent, so a write's outcome is unknown."""


class PaginationError(VendorError):
    """Paging went wrong: the page cap was hit or the vendor served the same page twice."""


class ContractError(VendorError):
    """A vendor record lacks a field we rely on, or carries it in a shape we do not read: the vendor
    changed its API or the tenant is set up differently. Never defaulted (a missing amount is not
    zero); the message names the field. Not retried: the same call answers the same way."""


class EntityUnavailableError(VendorError):
    """An optional endpoint the vendor installation does not have (an OData service not activated,
    a form a standard installation lacks). The chart sync reports the entity as skipped and goes on;
    its canonical records are left as they are (never deactivated for not being listed)."""
