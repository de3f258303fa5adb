"""Schemas shared by every API: problems, e-mail fields, pagination."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from marshmallow import Schema, ValidationError, fields


class ProblemErrorSchema(Schema):
    path = fields.String(metadata={"description": "Where the problem is, e.g. `email`."})
    location = fields.String(metadata={"description": "json, query, path or headers."})
    message = fields.String()


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.List(fields.Nested(ProblemErrorSchema))


class EmailAddress(fields.String):
    """An e-mail address checked for syntax only: no DNS lookup at run time."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            checked = validate_email(text, check_deliverability=False)
        except EmailNotValidError as exc:
            raise ValidationError(f"Not a valid e-mail address: {exc}") from exc
        return checked.normalized.lower()


def not_blank(value: str) -> None:
    """Validator: text that is only whitespace names nothing (a title, a person's name)."""
    if not value.strip():
        raise ValidationError("Must not be blank.")
