"""Admin API for LRS credentials: /api/v1/xapi/credentials (institution admins)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from masteryai_lti.core.policy import current_actor, require_roles
from masteryai_lti.core.schemas import ProblemSchema
from masteryai_lti.xapi import credentials
from masteryai_lti.xapi.models import SCOPES

blp = Blueprint(
    "xapi_credentials",
    __name__,
    url_prefix="/api/v1/xapi/credentials",
    description="HTTP Basic credentials that LRSs and content use to send xAPI statements.",
)
BEARER = [{"bearerAuth": []}]


class CredentialSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    key = fields.String(dump_only=True)
    scopes = fields.List(
        fields.String(validate=validate.OneOf(SCOPES)),
        load_default=list(SCOPES),
        validate=validate.Length(min=1),
    )
    created_at = fields.DateTime(dump_only=True)
    revoked_at = fields.DateTime(dump_only=True, allow_none=True)


class IssuedCredentialSchema(CredentialSchema):
    secret = fields.String(
        dump_only=True, metadata={"description": "Shown once; only a keyed hash is stored."}
    )


def _institution_id() -> int:
    actor = current_actor()
    return actor.institution_id


@blp.route("")
class Credentials(MethodView):
    @blp.doc(security=BEARER)
    @require_roles("admin")
    @blp.response(200, CredentialSchema(many=True))
    @blp.alt_response(403, schema=ProblemSchema, description="Institution admins only")
    def get(self):
        """Credentials of your institution (secrets are never shown again)."""
        return credentials.list_credentials(_institution_id())

    @blp.doc(security=BEARER)
    @require_roles("admin")
    @blp.arguments(CredentialSchema)
    @blp.response(201, IssuedCredentialSchema)
    @blp.alt_response(403, schema=ProblemSchema, description="Institution admins only")
    def post(self, payload):
        """Issue a credential; the response holds the secret, once."""
        issued = credentials.issue_credential(
            _institution_id(),
            payload["name"],
            payload["scopes"],
            created_by_id=current_actor().user_id,
        )
        return {
            "id": issued.id,
            "name": issued.name,
            "key": issued.key,
            "secret": issued.secret,
            "scopes": list(issued.scopes),
        }


@blp.route("/<int:credential_id>")
class CredentialResource(MethodView):
    @blp.doc(security=BEARER)
    @require_roles("admin")
    @blp.response(200, CredentialSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="No such credential here")
    def delete(self, credential_id):
        """Revoke a credential; requests with it are refused from now on."""
        return credentials.revoke_credential(_institution_id(), credential_id)
