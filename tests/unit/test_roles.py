"""Roles (grading.core.roles): who may do what, SPEC section 6 ("Roles"). One table, read three
ways: the roles with a permission, whether one role may, and all a role may do."""

import pytest

from grading.core.roles import (
    ADMIN,
    CHANGE_LEADS,
    PERMISSIONS,
    PREVIEW,
    READ,
    ROLES,
    WRITE,
    may,
    permissions_of,
    roles_with,
)

# role -> what it may do, in the table's order: the whole of SPEC section 6 at a glance
WHAT_EACH_ROLE_MAY_DO = {
    "admin": [READ, CHANGE_LEADS, WRITE, PREVIEW, ADMIN],
    "marketing": [READ, CHANGE_LEADS, WRITE, PREVIEW],
    "sales": [READ, CHANGE_LEADS],
    "viewer": [READ],
}


@pytest.mark.parametrize("role, permissions", WHAT_EACH_ROLE_MAY_DO.items())
def test_permissions_of_a_role_are_listed_in_the_tables_order(role, permissions):
    assert permissions_of(role) == permissions


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("permission", list(PERMISSIONS))
def test_may_agrees_with_the_table(role, permission):
    assert may(role, permission) is (permission in WHAT_EACH_ROLE_MAY_DO[role])


@pytest.mark.parametrize(
    "permission, roles",
    [
        (READ, {"admin", "marketing", "sales", "viewer"}),
        (CHANGE_LEADS, {"admin", "marketing", "sales"}),
        (WRITE, {"admin", "marketing"}),
        (PREVIEW, {"admin", "marketing"}),
        (ADMIN, {"admin"}),
    ],
)
def test_roles_with_a_permission(permission, roles):
    assert roles_with(permission) == roles


def test_every_role_may_read_and_only_admin_may_administer():
    assert roles_with(READ) == frozenset(ROLES)
    assert roles_with(ADMIN) == {"admin"}


def test_every_permission_names_only_known_roles():
    assert all(roles <= set(ROLES) for roles in PERMISSIONS.values())


def test_a_role_the_table_does_not_name_may_do_nothing():
    assert permissions_of("owner") == []
    assert not any(may("owner", permission) for permission in PERMISSIONS)


def test_a_permission_the_table_does_not_name_is_a_key_error():
    with pytest.raises(KeyError):
        roles_with("delete everything")
    with pytest.raises(KeyError):
        may("admin", "delete everything")
