"""The group leader's report in Chromium at 360x740, with JavaScript on and off: short,
saved while he types, and never lost when his session ends (issue 12's acceptance)."""

import pytest

SCREEN = 740
TYPED = "Chị Mai bị chồng chửi mắng, đe dọa suốt đêm qua."


def _answer_the_minimum(page) -> None:
    """Only what a minimal report needs (the day is filled in already)."""
    form = page.locator("#report-form")
    form.locator("[name=kinds][value=domestic_violence]").check()
    form.locator("[name=harm_forms][value=psychological]").check()
    form.locator("[name=immediate_danger][value=no]").check()
    form.locator("[name=narrative]").fill(TYPED)
    form.locator("[name=victim_sex][value=female]").check()
    form.locator("[name=victim_age_band]").select_option("26_40")
    form.locator("[name=source][value=other]").check()
    form.locator("[name=consent][value=not_asked]").check()


def _sign_in_again(page, steps, leader) -> None:
    """On the sign-in page the app sent him to; he comes back where it says."""
    assert page.url.startswith(steps.url("/login")), page.url
    page.fill("input[name=username]", leader.username)
    page.fill("input[name=password]", leader.password)
    with page.expect_navigation():
        page.click("main form button[type=submit]")


@pytest.mark.parametrize("javascript", [True, False])
def test_a_minimal_report_fits_in_three_screens_and_is_sent(
    contexts, steps, live_server, javascript
):
    page = contexts(java_script_enabled=javascript).new_page()
    leader = live_server.new_leader()
    steps.sign_in(page, leader)
    page.goto(steps.url("/report/new"))
    height = page.evaluate("document.documentElement.scrollHeight")
    if javascript:  # without it, the questions that may apply stay on the page, folded
        assert height <= 3 * SCREEN, height
    _answer_the_minimum(page)
    steps.send(page)
    assert "/report/filed/" in page.url
    assert live_server.cases_of(leader) == 1
    assert steps.csp_violations_here(page) == []


def test_the_form_is_saved_while_he_types_and_typing_keeps_him_signed_in(
    context, page, steps, live_server, leader
):
    steps.sign_in(page, leader)
    page.clock.install()
    page.goto(steps.url("/report/new"))
    narrative = page.locator("[name=narrative]")
    for minute in range(14):  # fourteen minutes of slow typing, on the page's clock
        narrative.press_sequentially(f"{minute} ")
        with page.expect_response(
            lambda answer: answer.url.endswith("/report/new") and answer.request.method == "POST"
        ) as saved:
            page.clock.run_for(60_000)
        assert saved.value.json()["saved"] is True
        assert live_server.drafts_of(leader) == 1  # the same draft, saved again
    assert page.url == steps.url("/report/new")
    assert page.locator("#session-ended").is_hidden()
    assert page.locator("#autosave-status").is_visible()
    assert live_server.sessions_of(leader) == 1  # still signed in on the server too


@pytest.mark.parametrize("javascript", [True, False])
def test_a_form_sent_after_the_session_ended_comes_back_after_sign_in_and_files_once(
    contexts, steps, live_server, javascript
):
    page = contexts(java_script_enabled=javascript).new_page()
    leader = live_server.new_leader()
    steps.sign_in(page, leader)
    page.goto(steps.url("/report/new"))
    _answer_the_minimum(page)
    live_server.end_sessions(leader)  # he was called away for twenty minutes
    steps.send(page)

    assert live_server.cases_of(leader) == 0 and live_server.drafts_of(leader) == 1
    kept = live_server.text(
        "You had been signed out, so the report was not sent. It is kept as a draft "
        "that only you can open: sign in, check it and send it."
    )
    assert kept in page.content()
    _sign_in_again(page, steps, leader)
    assert "/report/new?draft=" in page.url
    assert page.locator("[name=narrative]").input_value() == TYPED
    assert page.locator("[name=consent][value=not_asked]").is_checked()
    steps.send(page)  # one tap
    assert "/report/filed/" in page.url
    assert live_server.cases_of(leader) == 1 and live_server.drafts_of(leader) == 0


def test_when_the_page_clock_ends_the_session_what_he_typed_is_kept(
    context, page, steps, live_server, leader
):
    """He typed, then put the phone down: the page sends the form as a draft when the
    session ends (the server had ended it first), and he finds it after signing in."""
    steps.sign_in(page, leader)
    page.clock.install()
    page.goto(steps.url("/report/new"))
    page.locator("[name=narrative]").fill(TYPED)
    live_server.end_sessions(leader)
    with page.expect_navigation(url=lambda url: "/login" in url):
        page.clock.run_for(16 * 60_000)
    assert live_server.drafts_of(leader) == 1 and live_server.cases_of(leader) == 0
    _sign_in_again(page, steps, leader)
    assert page.locator("[name=narrative]").input_value() == TYPED


def test_when_the_page_clock_ends_first_the_session_ends_and_the_draft_is_kept(
    context, page, steps, live_server, leader
):
    """The page's clock may run out a little before the server's: the form is kept all
    the same, and the session ends then (saving it does not keep the page open)."""
    steps.sign_in(page, leader)
    page.clock.install()
    page.goto(steps.url("/report/new"))
    page.locator("[name=narrative]").fill(TYPED)
    with page.expect_navigation(url=lambda url: "/login" in url):
        page.clock.run_for(16 * 60_000)
    assert live_server.sessions_of(leader) == 0
    assert live_server.drafts_of(leader) == 1
    _sign_in_again(page, steps, leader)
    assert page.locator("[name=narrative]").input_value() == TYPED
