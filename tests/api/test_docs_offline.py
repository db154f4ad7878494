"""/docs and /redoc render every operation in Debian's Chromium with no network but loopback.

The app is served over real HTTP (it needs no Temporal to serve its pages: the client connects
lazily). Chromium is driven by the locked `playwright` package, never a downloaded browser. Every
request the pages make goes through a route: loopback passes, anything else is aborted and
recorded, and the test fails if one was attempted. The pages' Content-Security-Policy is the other
fence: whatever it blocked is recorded from the page's `securitypolicyviolation` events.

Run with `-s` to see where the screenshots are.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import BrowserContext, ConsoleMessage, Page, Route, async_playwright

from api.app import create_app
from api.docs import ASSETS_PATH
from tests.api.serving import serving

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",  # root in CI and here
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK = frozenset({"127.0.0.1", "localhost"})
WAIT_MS = 15_000
"""Every wait in the browser is bounded by this (the pages render in about a second here)."""

REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
"""ReDoc's sidebar always renders Redocly's logo from this CDN (no option turns it off). The page's
CSP blocks it before any request is made, and ReDoc then hides the image: the one violation the
ReDoc page is expected to report. Without the CSP it would reach the route below and fail the test."""

RECORD_CSP_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push({directive: e.effectiveDirective, blocked: e.blockedURI});
});
"""


@dataclass
class Browsed:
    """What the pages did besides rendering: requests off loopback, CSP blocks, console errors."""

    context: BrowserContext
    off_loopback: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    async def open(self, url: str) -> tuple[Page, dict[str, str]]:
        page = await self.context.new_page()
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console_errors.append(f"uncaught: {error}"))
        response = await page.goto(url, wait_until="load", timeout=WAIT_MS)
        assert response is not None and response.status == 200, url
        # The page's own scripts and styles have loaded (or failed) by now.
        assert self.off_loopback == [], "the page tried to load from the network"
        return page, await response.all_headers()

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Debian's Chromium is missing at {CHROMIUM}: `apt-get install --no-install-recommends "
            "chromium` (.ci/run does). The test drives it with playwright and never downloads a browser."
        )
    return CHROMIUM


@pytest_asyncio.fixture
async def app_url() -> AsyncIterator[str]:
    async with serving(create_app()) as url:
        yield url


@pytest_asyncio.fixture
async def browsed(chromium: Path, tmp_path: Path) -> AsyncIterator[Browsed]:
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            tmp_path / "chromium-profile",  # fresh: no cache, no cookies
            executable_path=str(chromium),
            args=CHROMIUM_FLAGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
            timeout=WAIT_MS,
        )
        context.set_default_timeout(WAIT_MS)
        browsed = Browsed(context)

        async def loopback_only(route: Route) -> None:
            if urlsplit(route.request.url).hostname in LOOPBACK:
                await route.continue_()
            else:
                browsed.off_loopback.append(route.request.url)
                await route.abort("internetdisconnected")

        await context.route("**/*", loopback_only)
        await context.add_init_script(RECORD_CSP_VIOLATIONS)
        try:
            yield browsed
        finally:
            await context.close()


async def operations(app_url: str) -> list[dict[str, str]]:
    """Every operation of the served OpenAPI document, paths and webhooks (notifications) alike."""
    async with httpx.AsyncClient(base_url=app_url, timeout=10) as http:
        document: dict[str, Any] = (await http.get("/openapi.json")).raise_for_status().json()
    found = [
        {
            "where": where,
            "method": method.upper(),
            "id": operation["operationId"],
            "summary": operation["summary"],
        }
        for section in ("paths", "webhooks")
        for where, item in document.get(section, {}).items()
        for method, operation in item.items()
    ]
    assert len(found) > 40, "the document this test reads is not the app's"
    return found


def shot(page_name: str, tmp_path: Path) -> Path:
    """Where a viewport's screenshot goes (the whole page is too tall to read)."""
    path = tmp_path / f"{page_name}.png"
    print(f"\n{page_name} screenshot: {path}")  # noqa: T201 (asked for: `-s` shows where to look)
    return path


def assert_offline(
    browsed: Browsed, policy: str, page_csp: list[dict[str, str]], expected_csp: list[dict[str, str]]
) -> None:
    assert browsed.off_loopback == [], "the page tried to load from the network"
    assert "default-src 'self'" in policy and "http" not in policy
    assert page_csp == expected_csp
    expected_logs = [f"'{blocked['blocked']}' violates" for blocked in expected_csp]
    unexpected = [log for log in browsed.console_errors if not any(part in log for part in expected_logs)]
    assert unexpected == []


@pytest.mark.timeout(90)
async def test_swagger_ui_renders_every_operation_offline(
    app_url: str, browsed: Browsed, tmp_path: Path
) -> None:
    expected = await operations(app_url)
    page, headers = await browsed.open(f"{app_url}/docs")
    await page.wait_for_function(
        "n => document.querySelectorAll('.opblock').length >= n", arg=len(expected), timeout=WAIT_MS
    )
    rendered = await page.eval_on_selector_all(
        ".opblock",
        """blocks => blocks.map(b => ({
            where: b.querySelector('.opblock-summary-path').dataset.path,
            method: b.querySelector('.opblock-summary-method').textContent,
            id: b.querySelector('.opblock-summary-operation-id').textContent,
            summary: b.querySelector('.opblock-summary-description').textContent,
        }))""",
    )
    key = json.dumps
    assert sorted(map(key, rendered)) == sorted(map(key, expected))
    await page.locator("#operations-tag-sessions").evaluate("tag => tag.scrollIntoView()")
    await page.screenshot(path=shot("swagger-ui", tmp_path))
    assert_offline(
        browsed, headers.get("content-security-policy", ""), await page.evaluate("window.__csp"), []
    )


@pytest.mark.timeout(90)
async def test_redoc_renders_every_operation_offline(app_url: str, browsed: Browsed, tmp_path: Path) -> None:
    expected = await operations(app_url)
    page, headers = await browsed.open(f"{app_url}/redoc")
    await page.wait_for_function(
        "n => document.querySelectorAll('[data-section-id^=\"operation/\"]').length >= n",
        arg=len(expected),
        timeout=WAIT_MS,
    )
    headings = await page.eval_on_selector_all(
        '[data-section-id^="operation/"]',
        # The heading's own text: a webhook's also holds a "Webhook" badge.
        """sections => sections.map(s => [
            s.dataset.sectionId.slice("operation/".length),
            [...s.querySelector('h2').childNodes].filter(n => n.nodeType === Node.TEXT_NODE)
                .map(n => n.textContent).join('').trim(),
        ])""",
    )
    menu = await page.eval_on_selector_all(
        'li[data-item-id*="/operation/"]',
        "items => items.map(i => [i.dataset.itemId.split('/operation/')[1], i.getAttribute('aria-label')])",
    )
    wanted = sorted([operation["id"], operation["summary"]] for operation in expected)
    assert sorted(headings) == wanted
    assert sorted(menu) == wanted
    # Search runs in ReDoc's worker (a blob: URL the CSP allows): it finds an operation by its summary.
    await page.get_by_placeholder("Search...").fill("reschedule")
    results = page.locator('[data-role="search:results"]')
    await results.get_by_text("Preview Reschedule").wait_for(timeout=WAIT_MS)
    await page.get_by_placeholder("Search...").fill("")
    await page.locator('[data-section-id="operation/bookSession"] h2').evaluate("h => h.scrollIntoView()")
    await page.screenshot(path=shot("redoc", tmp_path))
    expected_csp = [{"directive": "img-src", "blocked": REDOC_LOGO}]
    assert_offline(
        browsed, headers.get("content-security-policy", ""), await page.evaluate("window.__csp"), expected_csp
    )


async def test_the_pages_and_assets_are_served_with_their_types_caching_and_policy(app_url: str) -> None:
    """No token needed (like /openapi.json); assets cached for good under a versioned path; the pages
    revalidated and fenced to 'self' by their CSP."""
    async with httpx.AsyncClient(base_url=app_url, timeout=10) as http:
        for name, media_type in (
            ("swagger-ui-bundle.js", "text/javascript"),
            ("swagger-ui.css", "text/css"),
            ("redoc.standalone.js", "text/javascript"),
            ("favicon.png", "image/png"),
        ):
            asset = await http.get(f"{ASSETS_PATH}/{name}")
            assert asset.status_code == 200, name
            assert asset.headers["content-type"].split(";")[0] == media_type, name
            assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert asset.headers["x-content-type-options"] == "nosniff"
            again = await http.get(f"{ASSETS_PATH}/{name}", headers={"If-None-Match": asset.headers["etag"]})
            assert again.status_code == 304, name
        assert (await http.get(f"{ASSETS_PATH}/core.py")).status_code == 404  # the package's files only
        for path in ("/docs", "/redoc"):
            page = await http.get(path)
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            assert page.headers["cache-control"] == "no-cache"
            policy = page.headers["content-security-policy"]
            assert "default-src 'self'" in policy and "http" not in policy
            assert "googleapis" not in page.text and "cdn." not in page.text
