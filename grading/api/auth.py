"""Bearer tokens and roles: who may call what (SPEC section 6, Roles)."""

from __future__ import annotations

from functools import wraps

from flask import g, request

from ..core import roles
from ..http.request import get_db
from ..services import users
from .blueprint import api
from .common import ApiError

READ = roles.roles_with(roles.READ)
SALES = roles.roles_with(roles.CHANGE_LEADS)  # lifecycle, owner and qualification changes
WRITE = roles.roles_with(roles.WRITE)  # leads, events, outcomes
ADMIN = roles.roles_with(roles.ADMIN)  # re-grade, reload, erase, the audit log


def authenticate() -> tuple[int, str, str]:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "send a token: Authorization: Bearer TOKEN")
    found = users.token_user(get_db(), token.strip())
    if found is None:
        raise ApiError(401, "unknown or revoked token")
    return found


def requires(roles: frozenset[str]):
    """A token of one of `roles`, checked before anything else of the request is read; in the
    document: the roles, 401, and 403 where some role is left out."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            token_id, name, role = authenticate()
            if role not in roles:
                raise ApiError(403, f"the {role} role may not do this")
            g.token = {"id": token_id, "name": name, "role": role}
            return view(*args, **kwargs)

        documented = api.doc(description="Roles: " + ", ".join(sorted(roles)))(wrapper)
        documented = api.error(401, "no or bad token")(documented)
        if roles != READ:  # READ is every role: nobody gets a 403 there
            documented = api.error(403, "role not allowed")(documented)
        documented.roles = roles
        return documented

    return decorate
