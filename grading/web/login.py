"""Logging in and out: server-side sessions, and failed logins throttled (Flask-Limiter): after
too many failed logins for a name from one address (or from one address for any names), further
tries are refused for a while, even with the right password."""

from __future__ import annotations

import time

from flask import Flask, g, redirect, render_template, request, session, url_for
from flask_limiter import Limiter, RateLimitExceeded
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from ..http.request import get_db
from ..services.users import log_in, log_out
from .blueprint import safe_next, web

WINDOW_S = 15 * 60
PER_NAME = 5  # failures of one name from one address within the window
PER_ADDRESS = 30  # failures from one address, whatever the names


def address() -> str:
    return repr(("address", request.remote_addr or ""))


def name_at_address() -> str:
    return repr(("name", request.form.get("name", "").strip().lower(), request.remote_addr or ""))


def login_failed(response) -> bool:
    """Only a wrong name or password counts (not a refused try, nor an expired form)."""
    return g.get("login_failed", False)


# In this process's memory: failures are counted per server process, and only logins are limited
# (no default limits). A moving window: a try is allowed again once the oldest failure of a full
# window is WINDOW_S old.
limiter = Limiter(
    key_func=address,
    storage_uri="memory://",
    strategy="moving-window",
    fail_on_first_breach=False,  # the wait is the longest of every limit reached
)


def init_throttle(app: Flask) -> None:
    limiter.init_app(app)


@limiter.request_filter
def not_a_login() -> bool:
    """Every other request skips the limiter at once (it runs before every request of the app)."""
    return request.endpoint != "web.login"


@web.route("/login", methods=["GET", "POST"])
@limiter.limit(
    f"{PER_NAME} per {WINDOW_S} seconds",
    key_func=name_at_address,
    methods=["POST"],
    deduct_when=login_failed,
)
@limiter.limit(
    f"{PER_ADDRESS} per {WINDOW_S} seconds",
    key_func=address,
    methods=["POST"],
    deduct_when=login_failed,
)
def login():
    error = None
    if request.method == "POST":
        name = request.form.get("name", "")
        try:
            validate_csrf(request.form.get("csrf"))
        except ValidationError:
            error = "The form has expired: please try again."
        else:
            session_id = log_in(get_db(), name, request.form.get("password", ""))
            if session_id is None:
                g.login_failed = True
            else:
                forget_failures_of_this_name()
                session.clear()
                session["sid"] = session_id
                return redirect(safe_next(request.args.get("next")))
            error = "Unknown name or wrong password."
    return render_template("login.html", error=error), 401 if error else 200


def forget_failures_of_this_name() -> None:
    """A good login clears its name's failures from this address (not the address's own)."""
    for counted in limiter.current_limits:
        if counted.request_args[0] == name_at_address():
            limiter.limiter.clear(counted.limit, *counted.request_args)


@web.errorhandler(RateLimitExceeded)
def too_many_failures(error: RateLimitExceeded):
    now = time.time()
    wait = max(
        [int(counted.window[0] - now) + 1 for counted in limiter.current_limits if counted.breached]
        or [WINDOW_S]
    )
    minutes = -(-wait // 60)
    message = f"Too many failed logins: try again in {minutes} minute{'s' if minutes > 1 else ''}."
    return render_template("login.html", error=message), 429, {"Retry-After": str(wait)}


@web.post("/logout")
def logout():
    if "sid" in session:
        log_out(get_db(), session["sid"])
    session.clear()
    return redirect(url_for("web.login"))
