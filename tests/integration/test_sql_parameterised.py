"""Every SQL statement takes its values as parameters: the only pieces formatted into SQL text are
the structural ones below (column lists, runs of "?" marks, table names read from the schema, sort
orders from a fixed table, numeric settings). A new formatted piece fails here until it is looked at."""

import ast
import pathlib
import re

SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|WHERE|PRAGMA|DROP|CREATE|ORDER BY|FROM)\b")
GRADING = pathlib.Path(__file__).resolve().parents[2] / "grading"

STRUCTURAL = {
    # the "?, ?, ?" marks of IN lists
    "','.join('?' * len(ids))",
    "','.join('?' * len(page))",
    "','.join('?' * len(part))",
    "','.join('?' * len(values))",
    "marks",
    # fixed column lists and joins (module constants)
    "', '.join(('g.' + c for c in GRADE_COLUMNS.split(', ')))",
    "', '.join(RUN_COLUMNS)",
    "', '.join(('a.' + c for c in ACCOUNT_COLUMNS.split(', ')))",
    "ACCOUNT_COLUMNS",
    "SELECT",  # the accounts' constant SELECT ... FROM ... JOIN
    "', '.join(keys)",  # the keys of a constant list of columns
    "COLUMNS",
    "FROM",
    "GRADE_COLUMNS",
    "source",  # FROM or LEADS_FIRST
    "counted",  # FROM or SEARCHED
    # the search indexes' constant table names and column lists (store/search.py)
    "index",
    "queue",
    "columns",
    # a column from a fixed table of filters / sorts, and the WHERE built of "col IN (?, ?)" pieces
    "column",
    "direction",
    "order",
    "where",
    "' AND '.join(clauses)",
    "clause",  # a company filter: "col IN (SELECT value FROM json_each(?))" or a ? range
    # table and index names read from sqlite_master, never from a request
    "name",
    "table",
    # numeric settings and the schema version
    "BUSY_TIMEOUT_S * 1000",
    "CACHE_KIB",
    "IMPORT_CACHE_KIB",
    "number",
}


def formatted_pieces():
    for path in sorted(GRADING.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.JoinedStr):
                continue
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
            if SQL.search(text):
                for value in node.values:
                    if isinstance(value, ast.FormattedValue):
                        yield (
                            path.relative_to(GRADING.parent),
                            node.lineno,
                            ast.unparse(value.value),
                        )


def test_only_structural_pieces_are_formatted_into_sql():
    unexpected = [
        f"{path}:{line}: {piece}"
        for path, line, piece in formatted_pieces()
        if piece not in STRUCTURAL
    ]
    assert not unexpected, "values formatted into SQL (use ? parameters):\n" + "\n".join(unexpected)


def test_the_check_sees_the_formatted_sql():
    pieces = {piece for _, _, piece in formatted_pieces()}
    assert {"where", "order", "COLUMNS"} <= pieces
