"""How a vendor call's ending is read: one table from (status class × content type × transport
exception) to the typed error of :mod:`expense_sync.hooks.errors` it raises.

The first matching row wins, so narrower rows come first (``SSLError`` and ``ConnectTimeout`` are
both ``ConnectionError`` subclasses; 401/403 come before the other 4xx). A row either matches a
transport exception (no answer came) or an HTTP answer; its ``error`` is ``None`` when the answer's
body is the result. Only :class:`~expense_sync.hooks.errors.TransientVendorError` rows are retried.

* **429** → throttled, ``Retry-After`` honoured. **5xx** → transient.
* **3xx** → :class:`EndpointError` naming the ``Location`` (without its query, which may carry a
  token): requests are sent with ``allow_redirects=False``, and a redirect means a wrong host or
  scheme, never a result.
* **401/403** → :class:`AuthenticationError`, **other 4xx** → :class:`VendorRequestError`, whatever
  the content type; the vendor's ``check_body`` reads the body first, so token refusals and
  business codes inside it keep their own class.
* **An HTML page** on 2xx/5xx is a gateway speaking, not the API. Hooks that opt in with
  ``html_throttle = True`` (DingTalk blocks a throttled IP with an HTML page) take it as throttling.
  For the others it is a *transient* gateway error rather than a permanent one: a maintenance,
  WAF or overloaded-proxy page is usually gone on a later try, and a permanent
  ``VendorRequestError`` would tell a caller "refused" (a refused voucher marks its claim invalid)
  when nobody knows whether the API saw the call. Being transient, a non-idempotent call that gets
  one raises ``OutcomeUnknownError``, which callers settle by a look-up.
* **Transport**: a connect timeout never reached the vendor (retried, writes too); a read timeout,
  a broken connection, a body cut off mid-transfer (``ChunkedEncodingError``) or undecodable
  (``ContentDecodingError``) may have been acted on (retried; a write's outcome is unknown).
  ``SSLError`` → :class:`EndpointError`, not retried: a refused certificate does not heal by
  retrying. Neither it nor a redirect is a refusal (``VendorRequestError``): callers do not record
  the write as refused, so its intent stays in doubt until a look-up settles it.

Other ``requests`` exceptions (an invalid URL…) are programming errors and pass through untyped.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit, urlunsplit

import requests

from expense_sync.hooks.errors import (
    AuthenticationError,
    EndpointError,
    ThrottledError,
    TransientVendorError,
    VendorError,
    VendorRequestError,
)


class Content(Enum):
    """What an answer's ``Content-Type`` says it is."""

    ANY = "any"
    HTML = "html"  # a page: a gateway, proxy or web server answered, not the API
    DATA = "data"  # anything else: JSON, text, XML, nothing


@dataclass(frozen=True)
class Rule:
    """One row: a transport exception (``failure``) or an answer (``statuses`` × ``content`` ×
    the hook's ``html_throttle``, ``None`` = either) → ``error`` (``None``: the body is the result)."""

    error: type[VendorError] | None
    message: str = ""  # format fields: {body} (shortened), {location} (redirect target, no query)
    failure: type[requests.RequestException] | None = None
    statuses: Collection[int] | None = None
    content: Content = Content.ANY
    html_throttle: bool | None = None
    body_first: bool = False  # the vendor's check_body reads the body before ``error`` is raised
    # a transport failure the vendor may have acted on: a non-idempotent call is not re-sent but
    # raises OutcomeUnknownError (for answers the class says it: only a throttle is re-sent)
    acted: bool = True


OK, REDIRECT, CLIENT, SERVER = range(200, 300), range(300, 400), range(400, 500), range(500, 1000)
GATEWAY_THROTTLE = "HTML page instead of JSON (gateway throttle)"
SERVER_ERROR = Rule(TransientVendorError, "server error: {body}", statuses=SERVER)  # also: a status no row knows

TABLE: tuple[Rule, ...] = (
    # -- no answer: subclasses before their bases ---------------------------------------------------
    Rule(EndpointError, "TLS failure (certificate refused?)", failure=requests.exceptions.SSLError),
    Rule(TransientVendorError, "connect timeout", failure=requests.exceptions.ConnectTimeout, acted=False),
    Rule(TransientVendorError, "timeout", failure=requests.exceptions.Timeout),
    Rule(TransientVendorError, "answer broken mid-body", failure=requests.exceptions.ChunkedEncodingError),
    Rule(TransientVendorError, "answer body undecodable", failure=requests.exceptions.ContentDecodingError),
    Rule(TransientVendorError, "connection error", failure=requests.exceptions.ConnectionError),
    # -- an answer ----------------------------------------------------------------------------------
    Rule(ThrottledError, "throttled", statuses=(429,)),
    Rule(EndpointError, "redirected to {location}: wrong host or scheme?", statuses=REDIRECT),
    Rule(AuthenticationError, "access refused: {body}", statuses=(401, 403), body_first=True),
    Rule(VendorRequestError, "{body}", statuses=CLIENT, body_first=True),
    Rule(ThrottledError, GATEWAY_THROTTLE, statuses=SERVER, content=Content.HTML, html_throttle=True),
    SERVER_ERROR,
    Rule(ThrottledError, GATEWAY_THROTTLE, statuses=OK, content=Content.HTML, html_throttle=True),
    Rule(TransientVendorError, "HTML page instead of JSON (gateway error)", statuses=OK, content=Content.HTML),
    Rule(None, statuses=range(100, 300), body_first=True),
)
FAILURES: tuple[type[requests.RequestException], ...] = tuple(r.failure for r in TABLE if r.failure)


def content_of(content_type: str) -> Content:
    """HTML for any ``…html…`` type (``text/html``, ``application/xhtml+xml``), data otherwise."""
    return Content.HTML if "html" in content_type.lower() else Content.DATA


def for_failure(err: requests.RequestException) -> Rule:
    """The row of a transport exception (one of :data:`FAILURES`)."""
    return next(r for r in TABLE if r.failure and isinstance(err, r.failure))


def for_answer(status: int, content_type: str, *, html_throttle: bool) -> Rule:
    """The row of an HTTP answer; a status no row knows (below 100) is a server error."""
    content = content_of(content_type)
    for rule in TABLE:
        if (
            rule.statuses is not None
            and status in rule.statuses
            and rule.content in (Content.ANY, content)
            and rule.html_throttle in (None, html_throttle)
        ):
            return rule
    return SERVER_ERROR


def location(response: requests.Response) -> str:
    """Where a redirect points, without userinfo, query or fragment (they may carry secrets)."""
    value = response.headers.get("Location")
    if not value:
        return "nowhere (no Location header)"
    parts = urlsplit(value)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", "")) or "/"
