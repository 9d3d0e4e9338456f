"""What a shared phone keeps (SECURITY.md property 24 and the quick exit): nothing after
sign-out, no way back after a quick exit, no CSP violation on any page."""

import time

VICTIM = "Nguyễn Thị A"  # report_form()'s victim
TYPED = "Chồng chị ấy đe dọa tối qua."


def _wait_until(page, condition, seconds=5.0) -> bool:
    """Poll condition, letting Playwright deliver the page's events in between."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        page.wait_for_timeout(50)
    return True


def _file_and_open_the_report(page, steps, leader) -> str:
    page.goto(steps.url("/report/new"))
    steps.fill_report(page, leader)
    steps.send(page)
    case_id = page.url.rsplit("/", 1)[-1]
    page.goto(steps.url(f"/reports/{case_id}"))
    assert VICTIM in page.inner_text("main"), "the leader's own report shows the victim"
    return case_id


def test_after_sign_out_back_shows_no_report_data_and_storage_is_empty(
    page, steps, live_server, leader
):
    steps.sign_in(page, leader)
    _file_and_open_the_report(page, steps, leader)
    steps.assert_storage_empty(page)

    steps.sign_out(page)
    steps.assert_storage_empty(page)
    assert live_server.sessions_of(leader) == 0
    # Back through the whole history: every page is fetched again (no-store), signed out.
    visited = []
    while page.go_back() is not None:
        visited.append(page.url)
        assert VICTIM not in page.content(), f"{page.url} shows the victim after sign-out"
        assert page.url.startswith(steps.url("/login")), page.url
    assert len(visited) >= 3, visited  # the report, the confirmation, the form at least
    page.goto(steps.url("/login"))
    steps.assert_storage_empty(page)


def test_quick_exit_replaces_the_report_page_and_ends_the_session(
    context, page, steps, live_server, leader
):
    steps.sign_in(page, leader)
    page.goto(steps.url("/report/new"))
    page.fill("textarea[name=narrative]", TYPED)
    old_cookies = context.cookies()

    page.click("#quick-exit button")
    page.wait_for_url(live_server.exit_url)
    # The beacon signs out on the server (every session of the account).
    assert _wait_until(page, lambda: live_server.sessions_of(leader) == 0), "still signed in"

    # "Back" never returns to the report form: it was replaced, and what is behind it
    # asks for a sign-in.
    while page.go_back() is not None:
        assert "/report/" not in page.url, page.url
        assert TYPED not in page.content()
        if page.url.startswith(steps.url("")):
            assert page.url.startswith(steps.url("/login")), page.url
    assert page.url != live_server.exit_url, "the exit page was the first entry"

    fresh = context.new_page()
    fresh.goto(steps.url("/report/new"))
    assert fresh.url.startswith(steps.url("/login")), "a new tab is signed out"
    # The old cookie opens nothing either: the session is gone on the server too.
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in old_cookies)
    answer = context.request.get(
        steps.url("/report/new"), headers={"Cookie": cookie}, max_redirects=0
    )
    assert answer.status == 302 and answer.headers["location"].startswith("/login")
    steps.assert_storage_empty(fresh)


def test_quick_exit_without_javascript_leaves_and_signs_out(contexts, steps, live_server):
    context = contexts(java_script_enabled=False)
    page = context.new_page()
    leader = live_server.new_leader()
    steps.sign_in(page, leader)
    page.goto(steps.url("/report/new"))
    page.fill("textarea[name=narrative]", TYPED)

    with page.expect_navigation(url=live_server.exit_url):
        page.click("#quick-exit button")
    assert live_server.sessions_of(leader) == 0
    # Without the script the POST adds a history entry: behind it the form asks for a
    # sign-in and shows nothing typed.
    page.go_back()
    assert page.url.startswith(steps.url("/login")), page.url
    assert TYPED not in page.content()


def test_quick_exit_before_the_script_has_loaded_leaves_and_signs_out(
    context, page, steps, live_server, leader
):
    """On a slow phone the button is there before the script: the form itself leaves."""
    steps.sign_in(page, leader)
    held = []
    context.route("**/static/app.js", lambda route: held.append(route))
    page.goto(steps.url("/report/new"), wait_until="commit")
    page.fill("textarea[name=narrative]", TYPED)
    assert held, "the script was not asked for"
    with page.expect_navigation(url=live_server.exit_url):
        page.click("#quick-exit button")
    assert live_server.sessions_of(leader) == 0
    for route in held:
        route.abort()


def test_no_page_a_leader_sees_breaks_the_content_security_policy(page, steps, leader, watch):
    page.goto(steps.url("/login"))
    for language in ("en", "vi"):  # the language switch, and back
        with page.expect_navigation():
            page.click(f"header a[lang={language}]")
    steps.sign_in(page, leader)
    for link in ("/report/new", "/reports", "/account"):
        with page.expect_navigation(url=steps.url(link)):
            page.click(f"header nav a[href='{link}']")
    # A form sent with answers missing, and an error page.
    page.goto(steps.url("/report/new"))
    with page.expect_navigation():
        page.click("#report-form button[value=send]")
    assert page.locator("p.error[role=alert]").count() == 1
    assert page.goto(steps.url("/reports/" + "0" * 32)).status == 404
    assert steps.csp_violations_here(page) == []
    assert watch.csp == [] and watch.errors == []


def test_the_watch_does_see_a_csp_violation(page, steps, watch):
    """The check above is not vacuous: an inline script is refused and reported."""
    page.goto(steps.url("/login"))
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.__ran = true";
            document.body.append(script);
        }"""
    )
    assert _wait_until(page, lambda: len(watch.csp) >= 2)  # the console message and the event
    assert page.evaluate("window.__ran") is None
    assert any("script-src" in text for text in steps.csp_violations_here(page))
    watch.csp.clear()  # expected here: not a failure of this test
