"""Outgoing HTTP calls of the background worker (webhooks, the SMS gateway) with the standard library."""

from __future__ import annotations

import urllib.request
from typing import Any


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer that refuses the request (HTTP 3xx: an HTTPError, so the worker retries), never
    followed: urllib would follow a 302 to a POST with a bodiless GET, so the message would be lost yet counted as
    delivered, wherever the redirect points."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# open(request, timeout=...) as urllib.request.urlopen, without following redirects.
NO_REDIRECT_OPENER = urllib.request.build_opener(_NoRedirect)
