"""`/docs` and `/admin/docs` in a real browser (Debian's chromium, headless), under Verity's CSP.

Swagger UI must render from this server's own files with no request to another origin and no
Content-Security-Policy violation in the console. Skipped where chromium or playwright is missing.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.container import Container
from tests.app.conftest import serve
from tests.app.test_http_security import fast_container

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    container: Container = fast_container(tmp_path, admin_key="admin-secret-for-tests")
    running = serve(container)
    yield next(running)
    running.close()
    container.close()


def test_swagger_ui_renders_from_this_server_under_the_csp(server: str) -> None:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        console: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: console.append(f"error: {e}"))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(f"{server}/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=30_000)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        admin = browser.new_page()
        admin.on("dialog", lambda d: d.accept("admin-secret-for-tests"))
        admin.on("console", lambda m: console.append(f"admin {m.type}: {m.text}"))
        admin.goto(f"{server}/admin/docs")
        admin.wait_for_selector(".opblock-summary-path", timeout=30_000)
        admin_paths = admin.locator(".opblock-summary-path").all_inner_texts()
        browser.close()
    assert "/v1/answers" in paths and not [p for p in paths if p.startswith("/admin")]
    assert "/admin/keys" in admin_paths
    assert [r for r in requests if not r.startswith(server)] == [], "every asset comes from this server"
    assert console == [], console
