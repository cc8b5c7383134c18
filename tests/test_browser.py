"""The demo page in a real headless Chromium: HttpOnly tokens, CSRF, silent refresh, logout.

Chromium and its driver come from Debian's packages (`make test` installs them when
missing); Selenium drives them. Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import free_socket

ROOT = Path(__file__).resolve().parent.parent
ACCESS_TTL = 3


def _find(*names: str) -> str:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError(f"none of {names} is installed; `make test` installs Debian's chromium and chromium-driver")


@pytest.fixture(scope="module")
def demo() -> Iterator[str]:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    env = {**os.environ, "DEMO_PORT": str(port), "AUTH_ACCESS_TTL": str(ACCESS_TTL), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "examples.demo"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(base + "/health", timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "demo did not start"
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _find("chromium", "chromium-browser")
    profile = tempfile.mkdtemp(prefix="jwtmw-chromium-")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=_find("chromedriver")), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _wait(driver: Any, condition: Any, timeout: float = 10) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(condition)


def _all_cookies(driver: Any) -> dict[str, Any]:
    """Every cookie the browser holds, whatever its path (WebDriver shows only the page's)."""
    return {c["name"]: c for c in driver.execute_cdp_cmd("Network.getAllCookies", {})["cookies"]}


def _text(driver: Any, element: str) -> str:
    return str(driver.find_element("id", element).text)


def _click_and_wait(driver: Any, button: str, expect: str) -> str:
    driver.execute_script("document.getElementById('out').textContent = '';")
    driver.find_element("id", button).click()
    _wait(driver, lambda d: _text(d, "out").strip() != "")
    out = _text(driver, "out")
    assert out.startswith(expect), out
    return out


def _try_it_out(driver: Any, operation: str) -> tuple[str, str]:
    """Swagger UI's "Try it out" and "Execute" on one operation: the status shown ("403",
    "Undocumented", ...) and the response's description cell (its body)."""
    from selenium.webdriver.common.by import By

    block = driver.find_element(By.ID, operation)
    block.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    _wait(driver, lambda d: block.find_elements(By.CSS_SELECTOR, "button.try-out__btn"))
    block.find_element(By.CSS_SELECTOR, "button.try-out__btn").click()
    block.find_element(By.CSS_SELECTOR, "button.execute").click()
    cell = ".live-responses-table tbody .response-col_status"
    _wait(driver, lambda d: block.find_elements(By.CSS_SELECTOR, cell))
    status = str(block.find_element(By.CSS_SELECTOR, cell).text).splitlines()[0]
    body = str(block.find_element(By.CSS_SELECTOR, ".live-responses-table tbody .response-col_description").text)
    return status, body


def test_login_refresh_and_logout_in_a_real_browser(demo: str, browser: Any) -> None:
    browser.get(demo + "/")
    browser.find_element("id", "password").send_keys("wonderland")
    _click_and_wait(browser, "login", "200 POST /auth/login")
    _wait(browser, lambda d: _text(d, "status") == "signed in as alice")

    cookies = _all_cookies(browser)
    access = cookies["access_token"]["value"]
    assert cookies["access_token"]["httpOnly"] and cookies["refresh_token"]["httpOnly"]
    assert cookies["refresh_token"]["path"] == "/auth" and cookies["refresh_token"]["sameSite"] == "Strict"
    assert "refresh_token" not in {c["name"] for c in browser.get_cookies()}, "the page's path does not get it"
    visible = browser.execute_script("return document.cookie")
    assert "csrf_token=" in visible
    assert "access_token" not in visible and "refresh_token" not in visible and access not in visible
    assert access not in browser.page_source, "the login response did not hand the token to the page"

    assert '"sub": "alice"' in _click_and_wait(browser, "me", "200 GET /api/me").replace('":"', '": "')
    _click_and_wait(browser, "note", "200 POST /api/notes")  # the CSRF header came from the readable cookie

    time.sleep(ACCESS_TTL + 1.5)  # the access token expires; the next call refreshes silently
    _click_and_wait(browser, "me", "200 GET /api/me")
    assert _text(browser, "refreshes") == "1"
    renewed = _all_cookies(browser)["access_token"]["value"]
    assert renewed != access

    _click_and_wait(browser, "logout", "204 POST /auth/logout")
    assert "access_token" not in _all_cookies(browser) and "refresh_token" not in _all_cookies(browser)
    with pytest.raises(urllib.error.HTTPError) as info:  # the last access token is revoked, not just forgotten
        urllib.request.urlopen(
            urllib.request.Request(demo + "/api/me", headers={"Authorization": f"Bearer {renewed}"}), timeout=5
        )
    assert info.value.code == 401
    info.value.close()
    _click_and_wait(browser, "me", "401 GET /api/me")


def test_a_cross_site_style_post_without_the_csrf_header_is_refused(demo: str, browser: Any) -> None:
    browser.get(demo + "/")
    browser.find_element("id", "password").send_keys("wonderland")
    _click_and_wait(browser, "login", "200 POST /auth/login")
    status = browser.execute_script(
        """return fetch('/api/notes', {method: 'POST', credentials: 'same-origin',
               headers: {'Content-Type': 'application/json'}, body: '{"text": "forged"}'}).then(r => r.status)"""
    )
    assert status == 400


def test_swagger_ui_authorize_with_a_pasted_token_in_a_real_browser(browser: Any) -> None:
    """FastAPI's Swagger UI, served from a package (no CDN): Authorize, paste a token, call a protected route."""
    from selenium.webdriver.common.by import By
    from servers import uvicorn_server
    from tokens import SECRET, claims, mint

    from examples import fastapi_app

    app = fastapi_app.build_app({"algorithms": ["HS256"], "secret": SECRET})
    with uvicorn_server(app) as base:
        browser.get(f"http://{base}/docs")
        _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "button.authorize"), 20)
        browser.find_element(By.CSS_SELECTOR, "button.authorize").click()
        _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".modal-ux input"))
        browser.find_element(By.CSS_SELECTOR, ".modal-ux input").send_keys(mint(claims(scope="notes:read")))
        browser.find_element(By.CSS_SELECTOR, ".modal-ux .auth-btn-wrapper button.authorize").click()
        browser.find_element(By.CSS_SELECTOR, ".modal-ux button.btn-done").click()

        assert _try_it_out(browser, "operations-default-me_me_get")[0] == "200"
        assert _try_it_out(browser, "operations-default-write_notes_post")[0] == "403"  # the pasted token has notes:read only
        requests = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert requests and all(name.startswith(f"http://{base}/") for name in requests), requests


def test_swagger_ui_password_flow_against_the_ready_token_endpoint(browser: Any) -> None:
    """Swagger UI's "Authorize" with a username and a password: it posts to tokenUrl (our /auth/token), then calls."""
    from selenium.webdriver.common.by import By
    from servers import uvicorn_server

    from examples import fastapi_login

    with uvicorn_server(fastapi_login.build_app()) as base:
        browser.get(f"http://{base}/docs")
        _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "button.authorize"), 20)
        browser.find_element(By.CSS_SELECTOR, "button.authorize").click()
        _wait(browser, lambda d: d.find_elements(By.ID, "oauth_username"))
        browser.find_element(By.ID, "oauth_username").send_keys("alice")
        browser.find_element(By.ID, "oauth_password").send_keys("wonderland")

        def press(selector: str) -> None:  # the password form is taller than the modal: scroll to the button first
            button = browser.find_element(By.CSS_SELECTOR, selector)
            browser.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", button)

        press(".modal-ux .auth-btn-wrapper button.authorize")
        _wait(browser, lambda d: "Logout" in d.find_element(By.CSS_SELECTOR, ".modal-ux").text, 15)
        press(".modal-ux button.btn-done")
        status, body = _try_it_out(browser, "operations-default-notes_notes_get")
        assert status == "200"
        assert '"for": "alice"' in body
