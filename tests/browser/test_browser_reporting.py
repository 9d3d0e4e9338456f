"""A group leader files a report on a phone: the form, a slow network, a cut connection,
a double tap, a draft. Every page is watched for CSP violations (see conftest.py)."""

import time

ALREADY_SENT = "This report had already been sent: it was filed once, here."
SEND = "#report-form button[value=send]"


def _throttle(context, page) -> None:
    """400 kbit/s each way and 400 ms of latency: a weak mobile signal."""
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 400,
            "downloadThroughput": 400_000 / 8,
            "uploadThroughput": 400_000 / 8,
        },
    )


def _double_tap(page, selector: str) -> None:
    """Two taps on the same spot, the second before the page has changed (page.click waits
    for the navigation the first one starts; page.dblclick sent one POST, script or not)."""
    button = page.locator(selector)
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.click(x, y)
    page.mouse.click(x, y)


def _reference_shown(page) -> str:
    """The reference on the confirmation page."""
    assert "/report/filed/" in page.url, page.url
    return page.inner_text("main strong")


def test_sign_in_file_a_report_and_see_it_in_my_reports(page, steps, live_server, leader):
    steps.sign_in(page, leader)
    page.goto(steps.url("/report/new"))
    steps.fill_report(page, leader)
    steps.send(page)

    reference = _reference_shown(page)
    assert live_server.cases_of(leader) == 1
    steps.assert_storage_empty(page)
    with page.expect_navigation(url=steps.url("/reports")):
        page.click("main a[href='/reports']")
    assert page.locator("ul.cards li strong").all_inner_texts() == [reference]
    assert steps.csp_violations_here(page) == []


def test_on_a_slow_network_the_form_still_loads_and_is_sent(context, page, steps, live_server):
    leader = live_server.new_leader()
    steps.sign_in(page, leader)
    _throttle(context, page)
    started = time.monotonic()
    page.goto(steps.url("/report/new"), timeout=20_000)
    loaded = time.monotonic() - started
    # Slow enough to show the throttle is on; the form and its script are there.
    assert loaded > 0.8, f"the throttle did not apply ({loaded:.2f} s)"
    assert page.locator("#report-form").is_visible()
    assert page.evaluate("document.scripts.length") == 1
    steps.fill_report(page, leader)
    with page.expect_navigation(timeout=20_000):
        page.click(SEND)

    _reference_shown(page)
    assert live_server.cases_of(leader) == 1


def test_a_connection_cut_while_sending_then_the_form_resent_files_one_case(
    page, steps, live_server, leader
):
    steps.sign_in(page, leader)
    page.goto(steps.url("/report/new"))
    steps.fill_report(page, leader)

    cut = []

    def reach_the_server_then_cut(route):
        # The server receives the report and files it; the phone never sees the answer.
        if route.request.method == "POST" and not cut:
            cut.append(route.fetch(max_redirects=0).status)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/report/new", reach_the_server_then_cut)
    page.click(SEND)
    # Chromium shows its own error page for the failed POST; it keeps the POST's body.
    steps.arrive(page, "chrome-error://")
    assert cut == [302] and live_server.cases_of(leader) == 1

    # "Reload" on the error page sends the same form again, the same one-time token in it.
    steps.reload_error_page(page)

    _reference_shown(page)
    assert page.inner_text("p.flash-info") == live_server.text(ALREADY_SENT)
    assert live_server.cases_of(leader) == 1


def test_a_double_tap_on_send_files_one_case(page, steps, live_server, leader):
    steps.sign_in(page, leader)
    page.goto(steps.url("/report/new"))
    steps.fill_report(page, leader)
    before = live_server.posts_to("/report/new")
    with page.expect_navigation(url="**/report/filed/*"):
        _double_tap(page, SEND)

    _reference_shown(page)
    assert live_server.cases_of(leader) == 1
    assert live_server.posts_to("/report/new") - before == 1, "the script stops the 2nd tap"


def test_a_double_tap_without_javascript_files_one_case(contexts, steps, live_server):
    page = contexts(java_script_enabled=False).new_page()
    leader = live_server.new_leader()
    steps.sign_in(page, leader)
    page.goto(steps.url("/report/new"))
    steps.fill_report(page, leader)
    button = page.locator(SEND)
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    spot = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    taps = []

    def second_tap_while_the_first_is_answered(route):
        # Deterministic timing: the first copy reaches the server and is filed; before
        # its answer arrives the leader taps again (the form is still on screen).
        if route.request.method == "POST" and not taps:
            taps.append(route.fetch(max_redirects=0).status)
            page.mouse.click(*spot)
            route.abort("aborted")  # Chromium cancels the first for the second anyway
        else:
            route.continue_()

    page.route("**/report/new", second_tap_while_the_first_is_answered)
    before = live_server.posts_to("/report/new")
    page.mouse.click(*spot)
    steps.arrive(page, "/report/filed/")

    _reference_shown(page)
    assert taps == [302]
    assert live_server.posts_to("/report/new") - before == 2, "both taps reached the server"
    assert live_server.cases_of(leader) == 1
    assert page.inner_text("p.flash-info") == live_server.text(ALREADY_SENT)


def test_a_saved_draft_is_listed_and_opens_with_what_was_typed(page, steps, live_server, leader):
    steps.sign_in(page, leader)
    page.goto(steps.url("/report/new"))
    narrative = "Hàng xóm nghe tiếng la hét tối qua."
    page.fill("textarea[name=narrative]", narrative)
    page.check("[name=kinds][value=domestic_violence]")
    with page.expect_navigation():
        page.click("#report-form button[value=draft]")
    assert page.locator("p.flash-success").count() == 1
    assert live_server.cases_of(leader) == 0

    page.goto(steps.url("/reports"))
    drafts = page.locator("a[href^='/report/new?draft=']")
    assert drafts.count() == 1
    with page.expect_navigation():
        drafts.click()
    assert page.input_value("textarea[name=narrative]") == narrative
    assert page.is_checked("[name=kinds][value=domestic_violence]")
    assert page.input_value("input[name=draft_id]") != ""
    steps.assert_storage_empty(page)

    # Sent, the draft becomes the case and leaves the list.
    steps.fill_report(page, leader, narrative=narrative)
    steps.send(page)
    _reference_shown(page)
    page.goto(steps.url("/reports"))
    assert page.locator("a[href^='/report/new?draft=']").count() == 0
    assert live_server.cases_of(leader) == 1
