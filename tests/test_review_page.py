"""The review page (`GET /`) in a real browser: the system's Chromium, driven by Playwright,
against a real `handoff-brief serve`.

`make test` installs Chromium with `make system-libs`; no browser is ever downloaded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright
from pypdf import PdfReader

from .conftest import SAMPLES
from .serving import serving

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]

#: Fails exactly one rule: its next action has no due date.
WEAK = (SAMPLES / "weak" / "no-due-date.yaml").read_text(encoding="utf-8")
FIXED = WEAK.replace("  with: Helen Shaw\n", "  with: Helen Shaw\n  due: 2026-11-27\n", 1)
NEXT_ACTION = "Send Helen Shaw the route-planning case study and book a 30-minute call"
TOKEN = "review-page-token"

# A first request waits for the server's workers to warm up; give every expectation room.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"The browser tests need Chromium at {CHROMIUM}: run `make system-libs` "
                    "(as root it installs it with apt; otherwise it prints the command)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                    headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(tmp_path_factory.mktemp("review")) as server:
        yield server.url


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh tab; a script error or anything the page's CSP blocks fails the test."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    trouble: list[str] = []
    page.on("pageerror", lambda error: trouble.append(f"script error: {error}"))

    def console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            trouble.append(f"CSP: {message.text}")

    page.on("console", console)
    yield page
    context.close()
    assert trouble == []


def test_weak_handoff_then_fixed_then_pdf(page: Page, server_url: str, tmp_path: Path) -> None:
    response = page.goto(server_url)
    assert response is not None and response.ok
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self';" in policy

    page.fill("#handoff-text", WEAK)
    page.click("#check-button")
    expect(page.locator("#verdict")).to_have_text("Not ready: the seller would get a draft")
    missing = page.locator('[data-rule="next-action-missing"]')
    expect(missing).to_contain_text("next-action-missing")
    expect(missing).to_have_attribute("data-level", "error")
    expect(missing).to_contain_text("next_action.due")
    expect(missing).to_contain_text("The next action has no due")
    expect(page.locator("#error-list [data-rule]")).to_have_count(1)
    frame = page.frame_locator("#brief-frame")
    expect(frame.locator("h1")).to_have_text("Kestrel Freight Ltd")
    expect(frame.locator("body")).to_contain_text("DRAFT - not handoff-ready")
    assert page.locator("#brief-frame").get_attribute("sandbox") == ""

    with page.expect_download() as draft:
        page.click("#download-button")
    assert draft.value.suggested_filename == "weak-no-due-date-draft.pdf"

    page.fill("#handoff-text", FIXED)
    expect(page.locator("#download-button")).to_be_disabled()  # the brief shown is stale
    page.click("#check-button")
    expect(page.locator("#verdict")).to_have_text("Ready")
    expect(page.locator("[data-rule]")).to_have_count(0)
    expect(frame.locator("body")).to_contain_text(NEXT_ACTION)
    expect(frame.locator("body")).not_to_contain_text("DRAFT")

    with page.expect_download() as ready:
        page.click("#download-button")
    assert ready.value.suggested_filename == "weak-no-due-date.pdf"
    pdf = tmp_path / "brief.pdf"
    ready.value.save_as(pdf)
    first_page = " ".join((PdfReader(pdf).pages[0].extract_text() or "").split())
    assert "Kestrel Freight Ltd" in first_page
    assert NEXT_ACTION in first_page
    assert "DRAFT" not in first_page


def test_token_field_sends_the_bearer_token(page: Page, tmp_path: Path) -> None:
    with serving(tmp_path, env={"HANDOFF_API_TOKEN": TOKEN}) as server:
        page.goto(server.url)
        page.fill("#handoff-text", FIXED)
        page.click("#check-button")
        expect(page.locator("#message")).to_contain_text("401")
        expect(page.locator("#message")).to_contain_text("API token is missing or wrong")
        expect(page.locator("#result")).to_be_hidden()

        page.fill("#api-token", TOKEN)
        page.click("#check-button")
        expect(page.locator("#verdict")).to_have_text("Ready")
        expect(page.locator("#message")).to_be_hidden()
        expect(page.frame_locator("#brief-frame").locator("h1")).to_have_text(
            "Kestrel Freight Ltd")

        page.reload()  # the session keeps the token; nothing else does
        expect(page.locator("#api-token")).to_have_value(TOKEN)
        assert page.evaluate("localStorage.length") == 0


def test_upload_a_json_file(page: Page, server_url: str, tmp_path: Path) -> None:
    vague = yaml.safe_load((SAMPLES / "weak" / "vague-next-action.yaml").read_text())
    upload = tmp_path / "vague.json"
    upload.write_text(json.dumps(vague, indent=2, default=str), encoding="utf-8")

    page.goto(server_url)
    page.set_input_files("#handoff-file", str(upload))
    expect(page.locator("#handoff-text")).to_have_value(upload.read_text(encoding="utf-8"))
    expect(page.locator("#file-name")).to_have_text("vague.json")
    with page.expect_request(re.compile(r"/v1/check$")) as sent:
        page.click("#check-button")
    assert sent.value.headers["content-type"] == "application/json"
    expect(page.locator('[data-rule="next-action-vague"]')).to_be_visible()
    expect(page.frame_locator("#brief-frame").locator("h1")).to_have_text("Kestrel Freight Ltd")


def test_invalid_handoff_shows_problems_as_text(page: Page, server_url: str) -> None:
    page.goto(server_url)
    page.fill("#handoff-text", WEAK.replace("tier: qualified", "tier: <b>qualifed</b>"))
    page.click("#check-button")
    problem = page.locator('#problem-list [data-path="tier"]')
    expect(problem).to_contain_text("line 4")
    expect(problem).to_contain_text("got '<b>qualifed</b>'")  # shown as text, never as HTML
    expect(page.locator("#result b")).to_have_count(0)
    expect(page.locator("#brief-frame")).to_be_hidden()
