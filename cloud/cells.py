"""What a spreadsheet takes for a formula. Pure, for every file the platform writes or accepts to be written back.

Excel and WPS evaluate a CSV field that starts with `=`, `+`, `-` or `@`, and a leading tab or carriage return can
hide one; openpyxl writes a string starting with `=` as a formula. Text such as `=HYPERLINK("http://…","点击")` would
be live in the bureau's or a town's spreadsheet, so exported cells never start that way.
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def starts_formula(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)
