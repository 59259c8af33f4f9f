"""Bearer tokens and roles: who may call what (SPEC section 6, Roles)."""

from __future__ import annotations

import time
from functools import wraps

from flask import g, request

from ..core import roles
from ..store import auth as token_store
from .blueprint import api
from .common import ApiError, get_db

READ = roles.roles_with(roles.READ)
SALES = roles.roles_with(roles.CHANGE_LEADS)  # lifecycle, owner and qualification changes
WRITE = roles.roles_with(roles.WRITE)  # leads, events, outcomes
ADMIN = roles.roles_with(roles.ADMIN)  # re-grade, reload, erase, the audit log

_last_touch: dict[int, float] = {}


def authenticate() -> tuple[int, str, str]:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "send a token: Authorization: Bearer TOKEN")
    found = token_store.role_of(get_db(), token.strip())
    if found is None:
        raise ApiError(401, "unknown or revoked token")
    token_id = found[0]
    if (
        time.monotonic() - _last_touch.get(token_id, -1e9) > 60
    ):  # at most one write a minute per token
        _last_touch[token_id] = time.monotonic()
        token_store.touch(get_db(), token_id, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
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
