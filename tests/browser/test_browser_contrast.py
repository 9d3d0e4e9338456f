"""Contrast to WCAG 2.2 AA on the leader's pages, measured on what Chromium renders.

Every element that shows text of its own is checked: its computed colour against the
first opaque background behind it, 4.5:1 for normal text and 3:1 for large text (24 px,
or 18.66 px bold). The check runs in the page and reports the failures.
"""

CONTRAST = """
() => {
  const rgb = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const part = (c) => {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * part(r) + 0.7152 * part(g) + 0.0722 * part(b);
  };
  const background = (element) => {
    for (let node = element; node; node = node.parentElement) {
      const colour = rgb(getComputedStyle(node).backgroundColor);
      const opaque = colour.length === 3 || (colour.length === 4 && colour[3] === 1);
      if (opaque) return colour.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const failures = [];
  let checked = 0;
  for (const element of document.querySelectorAll("body *")) {
    const own = [...element.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const style = getComputedStyle(element);
    if (!own || style.visibility === "hidden" || element.offsetParent === null) continue;
    const fg = lum(rgb(style.color).slice(0, 3)), bg = lum(background(element));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    checked += 1;
    if (ratio < needed) {
      failures.push(`${element.tagName}.${element.className}: ${ratio.toFixed(2)}`);
    }
  }
  return { checked, failures };
}
"""


def test_the_leaders_pages_meet_wcag_aa_contrast(page, steps, leader):
    pages = ["/login"]
    checked = 0
    page.goto(steps.url("/login"))
    result = page.evaluate(CONTRAST)
    assert result["failures"] == [], ("/login", result["failures"])
    checked += result["checked"]
    steps.sign_in(page, leader)
    for path in ("/reports", "/report/new", "/account"):
        page.goto(steps.url(path))
        result = page.evaluate(CONTRAST)
        assert result["failures"] == [], (path, result["failures"])
        checked += result["checked"]
        pages.append(path)
    # A form sent with answers missing shows the error colours too.
    page.goto(steps.url("/report/new"))
    page.click("button[value=send]")
    page.wait_for_load_state()
    result = page.evaluate(CONTRAST)
    assert result["failures"] == [], ("refused form", result["failures"])
    assert checked + result["checked"] > 100  # the check really looked at the pages


def test_the_contrast_check_sees_low_contrast(page, steps):
    # The check above is only worth something if it can fail.
    page.goto(steps.url("/login"))
    page.evaluate(
        "() => { const p = document.createElement('p'); p.textContent = 'pale';"
        " p.style.color = '#bbbbbb'; document.querySelector('main').append(p); }"
    )
    assert page.evaluate(CONTRAST)["failures"] == ["P.: 1.92"]
