"""The dashboard at ``/_mock/ui``: one page and its two assets, served from the package.

Why its own blueprint: a browser's navigation sends no ``Authorization`` header, so the page
and its assets are served to anyone who can reach the mock (they hold no data); every data call
the page makes goes to the control plane, which checks the admin token as it does for a
script. The page holds no inline script or style, so its Content-Security-Policy can forbid
both: a message text or journal body that looks like markup is written as text by the script
(``textContent``), and even markup that slipped through could run nothing.
"""
from __future__ import annotations

import functools
from importlib import resources

from flask import Blueprint, Response

from ..core.responses import CONTROL_PREFIX, empty_response
from .views import current_mock

#: The page's files, by the name they are served under, with their media types.
ASSETS = {
    "": ("index.html", "text/html; charset=utf-8"),
    "dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
    "dashboard.css": ("dashboard.css", "text/css; charset=utf-8"),
}

#: Same origin only, nothing inline, no frames around it (clickjacking), no plugins.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                           "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

_TOKEN_OPTIONAL = b'<meta name="mockchats-admin-token" content="optional">'
_TOKEN_REQUIRED = b'<meta name="mockchats-admin-token" content="required">'

dashboard = Blueprint("dashboard", __name__, url_prefix=f"{CONTROL_PREFIX}/ui")


@functools.cache  # the files change with the package only
def _read(name: str) -> bytes:
    return resources.files(__package__).joinpath("static", name).read_bytes()


@dashboard.get("", defaults={"asset": ""})
@dashboard.get("/<asset>")
def serve_asset(asset: str) -> Response:
    """The page (``/_mock/ui``) or one of its assets; any other name is a plain 404."""
    known = ASSETS.get(asset)
    if known is None:
        return empty_response(404)
    name, media_type = known
    content = _read(name)
    if not asset and current_mock().admin_token is not None:
        # Told up front, so the page asks for the token before its first call, not after a 401.
        content = content.replace(_TOKEN_OPTIONAL, _TOKEN_REQUIRED)
    return Response(content, 200, headers={
        "Content-Type": media_type,
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        # The page changes with the package only; revalidating costs one small request.
        "Cache-Control": "no-cache",
    })
