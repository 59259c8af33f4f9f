"""The web view's blueprint and what every page shares: the logged-in user, the CSRF check
(Flask-WTF), the template helpers, and `login_required`."""

from __future__ import annotations

import unicodedata
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import BadRequest

from ..core import roles
from ..core.times import display_text
from ..http.lead_urls import as_url
from ..http.request import get_db, state
from ..services import export as export_service
from ..services.users import user_of_session

web = Blueprint("web", __name__)
csrf = CSRFProtect()
FORM_EXPIRED = "the form has expired: reload the page and try again"


def init_csrf(app: Flask) -> None:
    """Every form of the web view carries a token bound to the session (its `csrf` field), for
    as long as the session lives; the API (bearer tokens, JSON) is not checked. No Referer check
    over HTTPS: today's browsers may strip it, and the token with a SameSite cookie suffices."""
    app.config.setdefault("WTF_CSRF_FIELD_NAME", "csrf")
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.config.setdefault("WTF_CSRF_SSL_STRICT", False)
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # check_csrf below: web forms only
    csrf.init_app(app)


@web.before_app_request
def load_user():
    """The user of the session the cookie names, if it is still live on the server (a cookie
    kept from before a logout, a disabling or a new password names an ended one)."""
    g.user = None
    if "sid" in session:
        sid = session["sid"]
        g.user = user_of_session(get_db(), sid) if isinstance(sid, str) else None
        if g.user is None:
            session.clear()


@web.before_request
def check_csrf():
    if request.endpoint != "web.login":  # the login form's token is checked by the login itself
        csrf.protect()


@web.errorhandler(CSRFError)
def form_expired(error: CSRFError):
    return render_template("error.html", error=BadRequest(FORM_EXPIRED)), 400


@web.app_context_processor
def helpers():
    return {
        "user": g.get("user"),
        "may": may,
        "models": state().config.models,
        "when": when,
        "route_text": export_service.route_text,
    }


@web.app_template_filter("num")
def num(value: float) -> str:
    """70.0 -> 70, 2.5 -> 2.5: numbers of the model file as people wrote them."""
    return f"{value:g}"


def when(epoch: int | None) -> str:
    if epoch is None:
        return "—"
    return display_text(epoch)


MAX_NEXT = 2048  # longer than any link the pages make


def safe_next(target: str | None) -> str:
    """`target` if a browser would read it as a path on this site, else "/" (the matrix).

    Browsers drop tabs and newlines anywhere in a URL, strip leading controls and spaces and read
    a backslash as `/`, so `/<tab>/evil.example` and `/<backslash>evil.example` lead to another
    host: only a path starting with one `/`, with no control character and no backslash, is taken."""
    if not target or len(target) > MAX_NEXT or target[0] != "/" or target[1:2] == "/":
        return "/"
    if "\\" in target or any(unicodedata.category(char) == "Cc" for char in target):
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


def this_page() -> str:
    """The current page's path and query, percent-encoded as a link: the `next` of a login."""
    return safe_next(as_url(request.path, request.query_string))  # %2F in an id stays encoded


def may(permission: str) -> bool:
    """Whether the logged-in user's role has `permission` (core.roles)."""
    return g.get("user") is not None and roles.may(g.user["role"], permission)


def login_required(permission: str = roles.READ):
    """The page needs a login (else: to the login page, back here after) and `permission`."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if g.user is None:
                return redirect(url_for("web.login", next=this_page()))
            if not may(permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate
