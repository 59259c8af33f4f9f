"""Logging in and out: server-side sessions, and failed logins throttled per name and address."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, session, url_for

from ..http_common import get_db
from ..services.users import log_in, log_out
from .blueprint import csrf_ok, safe_next, web
from .throttle import LoginThrottle


def throttle() -> LoginThrottle:
    """Failed logins are counted per app (one per server process)."""
    return current_app.extensions.setdefault("grading.login_throttle", LoginThrottle())


@web.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        name, address = request.form.get("name", ""), request.remote_addr or ""
        wait = throttle().wait_seconds(name, address)
        if wait:
            minutes = -(-wait // 60)
            error = f"Too many failed logins: try again in {minutes} minute{'s' if minutes > 1 else ''}."
            page = render_template("login.html", error=error)
            return page, 429, {"Retry-After": str(wait)}
        if not csrf_ok():
            error = "The form has expired: please try again."
        else:
            session_id = log_in(get_db(), name, request.form.get("password", ""))
            if session_id is None:
                throttle().failed(name, address)
            else:
                throttle().succeeded(name, address)
                session.clear()
                session["sid"] = session_id
                return redirect(safe_next(request.args.get("next")))
            error = "Unknown name or wrong password."
    return render_template("login.html", error=error), 401 if error else 200


@web.post("/logout")
def logout():
    if "sid" in session:
        log_out(get_db(), session["sid"])
    session.clear()
    return redirect(url_for("web.login"))
