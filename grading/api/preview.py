"""POST /api/models/preview: what a changed model file would do to the grades; nothing written.

Roles admin and marketing: the preview writes nothing, but it is the first step of changing the
model, which marketing drafts with sales (applying a file stays with admins: /models/reload)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import request
from marshmallow import Schema, ValidationError, fields

from grading.core.config import ConfigError
from grading.core.times import TimeTextError, parse_as_of

from ..http.request import get_db, problems_of, state
from ..services import preview as preview_service
from .auth import WRITE, requires
from .blueprint import api
from .common import ApiError, json_body

_LINE = re.compile(r"^line (\d+)(, column \d+)?: (.*)$", re.S)  # column: a YAML syntax error
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")


class PreviewIn(Schema):
    config = fields.Str(
        required=True, metadata={"description": "the changed model file, as YAML text"}
    )
    as_of = fields.Str(
        load_default=None, metadata={"description": "ISO-8601 time to grade as of (default: now)"}
    )


class MoveOut(Schema):
    from_ = fields.Str(data_key="from", attribute="from")
    to = fields.Str()
    leads = fields.Int()


class RuleChangeOut(Schema):
    dimension = fields.Str(metadata={"description": "fit or activity (the model's own block)"})
    id = fields.Str()
    label = fields.Str(allow_none=True)
    status = fields.Str(metadata={"description": "added, removed, changed or same"})
    hits_before = fields.Int(metadata={"description": "leads whose main grade the rule is in"})
    hits_after = fields.Int()
    difference = fields.Int()


class ModelPreviewOut(Schema):
    name = fields.Str()
    status = fields.Str(metadata={"description": "added, removed, changed or unchanged"})
    graded_before = fields.Int()
    graded_after = fields.Int()
    moved = fields.Int(metadata={"description": "leads whose main grade changes cell"})
    cells = fields.List(fields.Str(), metadata={"description": "A4 … D1 and none"})
    matrix = fields.Dict(
        keys=fields.Str(),
        values=fields.Dict(keys=fields.Str(), values=fields.Int()),
        metadata={"description": "from cell -> to cell -> leads; none: not graded"},
    )
    moves = fields.List(fields.Nested(MoveOut), metadata={"description": "leads that change cell"})
    rules = fields.List(
        fields.Nested(RuleChangeOut), metadata={"description": "rules whose hits or text change"}
    )
    settings = fields.List(
        fields.Str(), metadata={"description": "thresholds, windows, audience that change"}
    )


class PreviewOut(Schema):
    as_of = fields.Str()
    leads = fields.Int()
    seconds = fields.Float()
    models = fields.List(fields.Nested(ModelPreviewOut))


def _request() -> tuple[str, datetime]:
    """The YAML text and the moment: a JSON body {config, as_of}, or the file itself as YAML
    (as_of then from the query string)."""
    if request.mimetype in YAML_TYPES:
        text = request.get_data(as_text=True)
        at = request.args.get("as_of")
    else:
        data = json_body('send the model file as JSON {"config": "…"} or as text/yaml')
        try:
            loaded = PreviewIn().load(data)
        except ValidationError as error:
            raise ApiError(422, "invalid request", problems_of(error.messages)) from None
        text, at = loaded["config"], loaded["as_of"]
    if at is None:
        return text, datetime.now(UTC)
    try:
        return text, parse_as_of(at, "as_of")
    except TimeTextError as error:
        raise ApiError(
            422, "invalid request", [{"field": "as_of", "message": error.reason}]
        ) from None


def config_problems(problems: list[str]) -> list[dict[str, Any]]:
    """ "line 7: models[0].fit: is required" ->
    {"field": "models[0].fit", "message": "is required", "line": 7}."""
    out = []
    for problem in problems:
        found = _LINE.match(problem)
        rest = found.group(3) if found else problem
        where, sep, message = rest.partition(": ")
        if not sep or (found and found.group(2)):  # a syntax error names no field
            where, message = "", rest
        item: dict[str, Any] = {"field": where, "message": message}
        if found:
            item["line"] = int(found.group(1))
        out.append(item)
    return out


@api.post("/models/preview")
@requires(WRITE)
@api.documents_body(PreviewIn)
@api.response(200, PreviewOut)
def preview_models():
    """Preview a changed model file: leads moving from each cell to each other cell and rule hits
    that change, against the active file; nothing is written. The body may also be the YAML file
    itself (Content-Type text/yaml, as_of in the query string)."""
    text, as_of = _request()
    try:
        new = preview_service.read_new_config(text)
    except ConfigError as error:
        raise ApiError(
            422,
            f"{len(error.problems)} problem(s) in the model file; nothing to preview",
            config_problems(error.problems),
        ) from None
    result = preview_service.preview(get_db(), state().config, new, as_of=as_of)
    return result.as_dict()
