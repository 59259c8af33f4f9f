"""Webhook delivery in the API: what waits, what fails, for each receiver."""

from __future__ import annotations

from flask import g
from marshmallow import Schema, fields

from ..http.request import get_db, state
from .auth import ADMIN, READ, requires
from .blueprint import api


class WebhookStatus(Schema):
    url = fields.Str(
        metadata={
            "description": "the whole URL for admins; scheme and host only for other roles "
            "(https://hooks.example.com/…): paths and query strings carry receivers' tokens"
        }
    )
    configured = fields.Bool(
        metadata={"description": "false: the URL left the model file; its messages wait"}
    )
    pending = fields.Int()
    delivered = fields.Int()
    failing = fields.Bool()
    attempts = fields.Int(allow_none=True)
    last_error = fields.Str(allow_none=True)
    next_attempt_at = fields.Str(allow_none=True)
    oldest_pending_at = fields.Str(allow_none=True)


class WebhooksOut(Schema):
    webhooks = fields.List(fields.Nested(WebhookStatus))


@api.get("/webhooks")
@requires(READ)
@api.response(200, WebhooksOut)
def webhooks():
    """Delivery state of each webhook"""
    from ..services import webhooks as webhook_service

    items = webhook_service.status(get_db(), state().config)
    if g.token["role"] not in ADMIN:  # receivers' tokens ride in URLs: admins only see them
        items = [{**item, "url": webhook_service.public_url(item["url"])} for item in items]
    return {"webhooks": items}
