"""Quoting for SQL built from catalogue names (the lowest floor of ``layers``: imports nothing)."""


def quote_ident(name):
    """Double-quote an SQL identifier (for column names read from the catalogue)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text):
    """Single-quote a constant known to the code (never a value from a request: pass those as
    parameters)."""
    return "'" + text.replace("'", "''") + "'"
