"""The admin web page at /admin and /admin/jobs (seed 002's address): one static HTML file, no
build step; it calls the admin API."""

from __future__ import annotations

import functools
import pathlib

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

router = APIGatewayHttpRouter()
PAGE_PATH = "/admin"
SEED_PAGE_PATH = "/admin/jobs"
# Both serve the page, which holds no data: app.py lists them among the public routes.
PAGE_PATHS = (PAGE_PATH, SEED_PAGE_PATH)
PAGE = pathlib.Path(__file__).parent / "static" / "admin.html"
# The page holds no data: it asks for a token and calls the API with it, so it may be public.
# The policy keeps it from loading anything but itself and talking to anyone but this API.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@functools.cache
def page_html() -> str:
    return PAGE.read_text(encoding="utf-8")


@router.get(SEED_PAGE_PATH, include_in_schema=False)
@router.get(PAGE_PATH, include_in_schema=False)
def admin_page() -> Response[str]:
    """The admin page."""
    return Response(200, "text/html; charset=utf-8", page_html(), headers=SECURITY_HEADERS)
