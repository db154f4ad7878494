"""/docs (Swagger UI) and /redoc (ReDoc) served from the `fastapi-offline` package's own files.

FastAPI's default pages load their JavaScript, CSS, favicon (and ReDoc its fonts) from CDNs, so on
an offline or locked-down network they are blank. Here every asset comes from this process, and
each page carries a Content-Security-Policy that lets the browser load nothing from anywhere else.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.metadata import version
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse, Response

DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
ASSETS_PATH = f"/docs-assets/{version('fastapi-offline')}"
"""The package's version is in the path: its files never change under one URL (the lock pins the
version with hashes), so browsers may cache them for good and an upgrade is a new URL."""

SWAGGER_PARAMETERS: dict[str, Any] = {
    # Generated clients name their methods by operationId (bookSession …): show it on each operation.
    "displayOperationId": True,
    # Swagger UI would send the whole OpenAPI document to validator.swagger.io for its badge.
    "validatorUrl": None,
}

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
"""FastAPI's Swagger page starts Swagger UI from one inline script: the CSP allows it by its hash."""

# What each bundle needs beyond 'self', found in Chromium with a policy of 'self' alone
# (tests/api/test_docs_offline.py fails on any violation but the one it names).
_SWAGGER_CSP = (
    "default-src 'self'",
    "img-src 'self' data:",  # swagger-ui.css draws its select arrows as data: SVGs
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
)
_REDOC_CSP = (
    "default-src 'self'",
    # ReDoc styles itself with styled-components: <style> elements it writes at run time, which
    # take no nonce in the standalone bundle (tried). This also covers FastAPI's inline <style>;
    # a hash next to 'unsafe-inline' would switch 'unsafe-inline' off. Styles cannot run script.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    # ReDoc's search index runs in a Web Worker built from a blob: URL of its own bundle.
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
)


class _Assets(StaticFiles):
    """The package's static files, cacheable for a year (the URL carries the version)."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _page(html: HTMLResponse, policy: tuple[str, ...]) -> HTMLResponse:
    """The page with its policy; revalidated each time, so a new policy or asset URL is seen at once."""
    inline = _INLINE_SCRIPT.findall(bytes(html.body).decode())
    directives = [*policy]
    if inline:
        # Exactly the inline scripts this page holds (the browser hashes their text).
        hashes = (base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() for script in inline)
        directives.append("script-src 'self' " + " ".join(f"'sha256-{digest}'" for digest in hashes))
    html.headers["Content-Security-Policy"] = "; ".join(directives)
    html.headers["Cache-Control"] = "no-cache"
    html.headers["X-Content-Type-Options"] = "nosniff"
    return html


def install(app: FastAPI) -> None:
    """Serve the two pages and their assets. Like /openapi.json they need no token: they hold no
    data, only the public contract, and a browser opening a link sends no Authorization header."""
    assert app.docs_url is None and app.redoc_url is None, "FastAPI's CDN pages must be off"
    app.mount(ASSETS_PATH, _Assets(packages=[("fastapi_offline", "static")]), name="docs-assets")

    def located(request: Request) -> tuple[str, str]:
        """The document's and the assets' URLs as the browser must ask for them (behind a proxy
        that strips a prefix, ``root_path`` puts it back)."""
        root = request.scope.get("root_path", "")
        return f"{root}{app.openapi_url}", f"{root}{ASSETS_PATH}"

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        document, assets = located(request)
        page = get_swagger_ui_html(
            openapi_url=document,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon.png",
            swagger_ui_parameters=SWAGGER_PARAMETERS,
        )
        return _page(page, _SWAGGER_CSP)

    @app.get(REDOC_PATH, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        document, assets = located(request)
        page = get_redoc_html(
            openapi_url=document,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{assets}/redoc.standalone.js",
            redoc_favicon_url=f"{assets}/favicon.png",
            with_google_fonts=False,  # ReDoc would load its fonts from fonts.googleapis.com
        )
        return _page(page, _REDOC_CSP)
