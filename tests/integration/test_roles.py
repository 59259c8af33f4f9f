"""One table of roles and permissions (core.roles): the README's table says the same, and the API,
the web view and the store take their roles from it."""

import os
import re

import pytest

from grading.core import roles

README = open(
    os.path.join(os.path.dirname(__file__), "..", "..", "README.md"), encoding="utf-8"
).read()


def readme_table() -> tuple[list[str], dict[str, set[str]]]:
    """The README's roles table: its role columns, and per permission the roles ticked."""
    lines = README[README.index("| may |") :].split("\n\n", 1)[0].splitlines()
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    table = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        permission = cells[0].split(":", 1)[0]
        table[permission] = {
            role for role, tick in zip(header[1:], cells[1:], strict=True) if tick == "✓"
        }
    return header[1:], table


def test_the_readme_table_is_the_roles_table():
    columns, table = readme_table()
    assert columns == list(roles.ROLES)
    assert table == {permission: set(who) for permission, who in roles.PERMISSIONS.items()}


def test_every_api_endpoint_asks_for_a_permission_of_the_table(app):
    asked = {
        frozenset(view.roles) for view in app.view_functions.values() if hasattr(view, "roles")
    }
    assert asked and asked <= set(roles.PERMISSIONS.values())


@pytest.mark.parametrize("role", roles.ROLES)
def test_each_role_has_what_the_table_gives_it(role):
    for permission in roles.PERMISSIONS:
        assert roles.may(role, permission) == (permission in roles.permissions_of(role))
    assert roles.may(role, roles.READ)


def test_a_role_outside_the_table_is_refused_by_the_store(db):
    from grading.store.auth import create_token
    from grading.store.users import create_user

    with pytest.raises(ValueError, match=re.escape(", ".join(roles.ROLES))):
        create_token(db, "owner", "x", "2026-11-01T00:00:00Z")
    with pytest.raises(ValueError, match="unknown role 'owner'"):
        create_user(db, "kim", "owner", "correct horse", "2026-11-01T00:00:00Z")
