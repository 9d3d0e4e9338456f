"""A desk member verifies a case in Chromium at 360x740, corrects the relationship later,
and the case's history shows both (issue 13's acceptance), with JavaScript on and off."""

import pytest

REASON = "Đã gặp nạn nhân: người gây hại là cha của cháu"


def _file_a_report(page, steps, live_server, leader) -> str:
    steps.sign_in(page, leader)
    page.goto(steps.url("/report/new"))
    steps.fill_report(page, leader, perpetrator_relationship="unknown")
    steps.send(page)
    case_id = page.url.rsplit("/", 1)[-1]
    steps.sign_out(page)
    return case_id


@pytest.mark.parametrize("javascript", [True, False])
def test_a_desk_member_verifies_then_corrects_and_the_history_shows_it(
    contexts, steps, live_server, javascript
):
    page = contexts(java_script_enabled=javascript).new_page()
    leader = live_server.new_leader()
    case_id = _file_a_report(page, steps, live_server, leader)
    officer = live_server.new_desk_member("officer")
    steps.sign_in_staff(page, officer)

    page.goto(steps.url(f"/cases/{case_id}"))
    with page.expect_navigation():
        page.click("#verification a.button")
    form = page.locator("#verify-form")
    form.locator("select[name=perpetrator_relationship]").select_option("husband")
    form.locator("select[name=gbv_type]").select_option("psychological_abuse")
    form.locator("[name=outcome][value=verified]").check()
    page.screenshot(path=str(live_server.folder / "verify.png"), full_page=True)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert page.url.startswith(steps.url(f"/cases/{case_id}"))
    history = page.locator("#verification").inner_text()
    assert "Đã xác minh" in history and "Không rõ → Chồng" in history

    # Later: it was her father, not her husband.
    with page.expect_navigation():
        page.click("#verification a.button")
    form = page.locator("#verify-form")
    form.locator("select[name=perpetrator_relationship]").select_option("father")
    form.locator("textarea[name=why]").fill(REASON)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    history = page.locator("#verification").inner_text()
    assert "Chồng → Cha" in history and REASON in history
    assert page.viewport_size["width"] == 360
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # nothing too wide
