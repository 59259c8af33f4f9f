"""The roles and what each may do: one table for the API's tokens, the web view's accounts and
the store's checks (SPEC section 6, Roles; the README's roles table is checked against it)."""

from __future__ import annotations

ROLES = ("admin", "marketing", "sales", "viewer")

READ = "read"  # every page, every GET of the API
CHANGE_LEADS = "change leads"  # lifecycle, owner, ticking qualification criteria
WRITE = "write"  # leads, events and outcomes through the API
PREVIEW = "preview"  # a changed model file's moves, nothing saved
ADMIN = "admin"  # re-grade, reload, erasure, personal-data export, the audit log, webhook URLs

PERMISSIONS: dict[str, frozenset[str]] = {
    READ: frozenset(ROLES),
    CHANGE_LEADS: frozenset({"admin", "marketing", "sales"}),
    WRITE: frozenset({"admin", "marketing"}),
    PREVIEW: frozenset({"admin", "marketing"}),
    ADMIN: frozenset({"admin"}),
}


def roles_with(permission: str) -> frozenset[str]:
    """The roles that have `permission` (KeyError for a permission the table does not name)."""
    return PERMISSIONS[permission]


def may(role: str, permission: str) -> bool:
    return role in PERMISSIONS[permission]


def permissions_of(role: str) -> list[str]:
    """What `role` may do, in the table's order."""
    return [permission for permission, roles in PERMISSIONS.items() if role in roles]
