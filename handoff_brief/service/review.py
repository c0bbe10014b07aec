"""The review page (`GET /`): paste or upload a handoff, see its findings and the brief.

A plain server-rendered page with a little vanilla JavaScript (`review.js`) that calls the
API the page is served beside (`/v1/check`, `/v1/briefs`); nothing is built and nothing
is fetched from outside. The page, its script and its stylesheet live in `page/` inside
the package.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import jinja2
from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from .. import __version__

#: The page's Content-Security-Policy. Scripts come only from this server (`review.js`),
#: requests go only to this server. The brief is shown in an `<iframe sandbox="" srcdoc>`,
#: which inherits this policy: the brief's own inline `<style>` (and a brand logo as a
#: `data:` image) must load there, hence inline styles (never style attributes) and
#: `data:` images. The frame itself loads no URL, so `frame-src` allows none.
CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "style-src-attr 'none'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "frame-src 'none'",
    "child-src 'none'",
    "worker-src 'none'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
])

_PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_STATIC_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}


def _page_file(name: str) -> str:
    return files(__package__).joinpath("page", name).read_text(encoding="utf-8")


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(_page_file),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


@cache
def render_page(*, token_required: bool) -> str:
    """The review page's HTML; with `token_required`, it asks for the API token."""
    template = _environment().get_template("review.html.j2")
    return template.render(token_required=token_required, version=__version__)


def review_router(*, token_required: bool) -> APIRouter:
    """`GET /` (the review page), `/review.js` and `/review.css`.

    The page itself needs no token; with `token_required` it has an "API token" field whose
    value the script sends as the Bearer token of its API calls.
    """
    router = APIRouter(include_in_schema=False)
    page = render_page(token_required=token_required)
    script = _page_file("review.js")
    style = _page_file("review.css")

    @router.get("/", response_class=HTMLResponse)
    def review_page() -> HTMLResponse:
        return HTMLResponse(page, headers=_PAGE_HEADERS)

    @router.get("/review.js")
    def review_script() -> Response:
        return Response(script, media_type="text/javascript; charset=utf-8",
                        headers=_STATIC_HEADERS)

    @router.get("/review.css")
    def review_style() -> Response:
        return Response(style, media_type="text/css; charset=utf-8",
                        headers=_STATIC_HEADERS)

    return router
