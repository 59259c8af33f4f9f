"""Lead ids in URLs: always one path segment, percent-encoded, so an id may hold any character.

A lead id may contain "/" (SPEC: any text of up to 200 characters), but WSGI servers decode %2F
before the application sees the path: /api/leads/L-PATH%2Fexport (the lead "L-PATH/export") and
/api/leads/L-PATH/export (the export of the lead "L-PATH") would arrive alike. RawPath rebuilds
PATH_INFO from the path as the client sent it (REQUEST_URI or RAW_URI, which waitress, gunicorn,
uWSGI, mod_wsgi and werkzeug's server and test client set), decoding every escape but %2F and
%25, so routing splits at the client's own slashes only and the `lead` converter decodes its
one segment. Without a raw path the id still decodes right as long as it holds no "/".
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, unquote_to_bytes, urlsplit

from werkzeug.routing import BaseConverter

_ESCAPE = re.compile(rb"%([0-9A-Fa-f]{2})")
_KEPT = {b"2F", b"25"}  # "/" and "%": what the lead converter decodes itself


def _decode_but_slash(match: re.Match) -> bytes:
    code = match.group(1).upper()
    return b"%" + code if code in _KEPT else bytes([int(code, 16)])


def routable_path(environ: dict) -> str:
    """PATH_INFO with %2F (and %25) still encoded, as a WSGI (latin-1) string."""
    path = environ.get("PATH_INFO", "")
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if raw:
        raw_path = raw.split("?", 1)[0].split("#", 1)[0]
        if not raw_path.startswith("/"):  # the absolute form, http://host/path
            raw_path = urlsplit(raw_path).path
        try:
            kept = _ESCAPE.sub(_decode_but_slash, raw_path.encode("latin-1"))
        except UnicodeEncodeError:
            kept = b""
        script = environ.get("SCRIPT_NAME", "").encode("latin-1")
        # only when it is this request's path (a proxy or a mount may have rewritten it)
        if kept.startswith(script) and unquote_to_bytes(kept) == script + path.encode("latin-1"):
            return kept[len(script) :].decode("latin-1")
    return path.replace("%", "%25")  # a "%" of the id itself, for the converter's decoding


def as_url(path: str, query: bytes = b"") -> str:
    """A routable request.path (and its raw query string) as a URL again, for a link back to it
    like a login's `next`: "?", "#", spaces and other characters encoded, %2F and %25 left as
    they are, the query's own escapes kept."""
    url = quote(path, safe="/%")
    if query:
        url += "?" + quote(query.decode("utf-8", "replace"), safe="%!$&'()*+,/:;=?@~")
    return url


class RawPath:
    """WSGI middleware: PATH_INFO as routable_path gives it."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        environ["PATH_INFO"] = routable_path(environ)
        return self.app(environ, start_response)


class LeadIdConverter(BaseConverter):
    """<lead:lead_id>: one segment, percent-decoded; url_for encodes every character that is
    not unreserved ("/" as %2F)."""

    regex = "[^/]+"
    part_isolating = True

    def to_python(self, value: str) -> str:
        return unquote(value)

    def to_url(self, value) -> str:
        return quote(str(value), safe="")
