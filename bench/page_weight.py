"""Page weight on a first visit: the sign-in page and the report form, in Chromium.

Serves the app as the browser tests do (tests/browser/conftest.py: a TestingConfig app on
a fresh SQLite file, on 127.0.0.1), opens each page in a new browser context (empty cache,
no cookies) at a phone's size, and records every request of that page load. For each page
it prints the number of requests, the bytes of the response bodies as the app sends them
(raw: it does not compress), and the sum of each body compressed with gzip level 6, which
is what a compressing reverse proxy in front of it would send. Headers are not counted.

Targets: the report form in at most 3 requests and 15 KB compressed; the sign-in page in
15 KB compressed (KB = 1,000 bytes). Also the report form's height on the phone, with
JavaScript on (the questions that do not apply hidden) and off: a minimal report fits in
3 screens of 740 px with it. Exits with status 1 when a target is missed.

The report form is measured signed in as a group leader: the sign-in goes through the
context's API client, which shares the cookies but not the browser's cache, so the form's
stylesheet and script count as on a first visit.

    .venv/bin/python bench/page_weight.py
"""

import gzip
import logging
import re
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.conftest import CHROMIUM, LOCALE, VIEWPORT, LiveServer  # noqa: E402

KB = 1000
TARGETS = {  # page: (most requests, most compressed bytes)
    "sign-in page": (None, 15 * KB),
    "report form": (3, 15 * KB),
}
MOST_SCREENS = 3  # the report form with JavaScript, for a leader of one group
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def load(context, url: str) -> list[tuple[str, bytes]]:
    """Open url in a new page of context; every (url, body) of that page load."""
    page = context.new_page()
    requests = []
    page.on("request", lambda request: requests.append(request))
    page.goto(url, wait_until="networkidle")
    web = [r for r in requests if r.url.startswith(("http:", "https:"))]
    loaded = [(r.url, r.response().body()) for r in web]
    page.close()
    return loaded


def form_height(browser, server: LiveServer, javascript: bool) -> int:
    """The report form's page height in CSS pixels at the phone's width."""
    context = browser.new_context(viewport=VIEWPORT, locale=LOCALE, java_script_enabled=javascript)
    sign_in(context, server, server.new_leader())
    page = context.new_page()
    page.goto(server.url + "/report/new", wait_until="load")
    height = page.evaluate("document.documentElement.scrollHeight")
    context.close()
    return height


def report_height(browser, server: LiveServer) -> bool:
    """Print the form's height with JavaScript on and off; whether it meets its target."""
    screen = VIEWPORT["height"]
    on, off = form_height(browser, server, True), form_height(browser, server, False)
    fits = on <= MOST_SCREENS * screen
    verdict = "OK" if fits else "OVER TARGET"
    print(
        f"report form height at {VIEWPORT['width']} px: {on} px = {on / screen:.2f} screens "
        f"with JavaScript (target ≤ {MOST_SCREENS}: {verdict}), {off} px = "
        f"{off / screen:.2f} screens without (the questions that may apply folded)"
    )
    return fits


def sign_in(context, server: LiveServer, leader) -> None:
    """Sign in through the context's API client: cookies shared, browser cache untouched."""
    form = context.request.get(server.url + "/login").text()
    answer = context.request.post(
        server.url + "/login",
        form={
            "csrf_token": _CSRF.search(form).group(1),
            "username": leader.username,
            "password": leader.password,
        },
        max_redirects=0,
    )
    assert answer.status == 302, f"sign-in failed: {answer.status}"


def report(name: str, loaded: list[tuple[str, bytes]]) -> bool:
    """Print one line for the page (and its requests); whether it meets its targets."""
    raw = sum(len(body) for _url, body in loaded)
    packed = sum(len(gzip.compress(body, compresslevel=6)) for _url, body in loaded)
    most_requests, most_bytes = TARGETS[name]
    fits = packed <= most_bytes and (most_requests is None or len(loaded) <= most_requests)
    wanted = (f"≤ {most_requests} requests, " if most_requests else "") + (
        f"≤ {most_bytes // KB} KB compressed"
    )
    verdict = "OK" if fits else "OVER TARGET"
    print(
        f"{name:<13} {len(loaded)} requests, {raw / KB:6.1f} KB raw, "
        f"{packed / KB:5.1f} KB compressed   (target {wanted}: {verdict})"
    )
    for url, body in loaded:
        path = url.split("/", 3)[-1]
        print(
            f"    /{path:<28} {len(body) / KB:6.1f} KB raw, "
            f"{len(gzip.compress(body, compresslevel=6)) / KB:5.1f} KB compressed"
        )
    return fits


def main() -> int:
    logging.disable(logging.INFO)  # the migrations' and the server's request log
    folder = Path(tempfile.mkdtemp(prefix="page-weight-"))
    server = LiveServer(folder)
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
    )
    try:
        print("First visit, empty cache, Chromium at 360x740. Raw: as the app sends them")
        print("(it does not compress); compressed: gzip level 6 of each body, what a")
        print("compressing proxy would send. Response bodies only, headers not counted.")
        results = []
        context = browser.new_context(viewport=VIEWPORT, locale=LOCALE)
        results.append(report("sign-in page", load(context, server.url + "/login")))
        context.close()

        context = browser.new_context(viewport=VIEWPORT, locale=LOCALE)
        sign_in(context, server, server.new_leader())
        results.append(report("report form", load(context, server.url + "/report/new")))
        context.close()
        results.append(report_height(browser, server))
    finally:
        browser.close()
        playwright.stop()
        server.close()
        shutil.rmtree(folder, ignore_errors=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
