"""Text a spreadsheet will not run: the OWASP rule for CSV and XLSX cells.

A cell that starts with =, +, -, @, a tab or a carriage return (or their full-width
forms, which spreadsheets also accept), spaces before it included, is read as a formula.
Group names, usernames and audit details are typed by people: never trust them as cells.
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def is_formula(text: str) -> bool:
    """Whether a spreadsheet would read this text as a formula (spaces before it too)."""
    return text.lstrip(" ").startswith(FORMULA_STARTS)


def safe_cell(value) -> str:
    """A CSV cell's text, a formula neutralised by a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if is_formula(text) else text
