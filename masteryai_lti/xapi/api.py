"""Admin API for LRS credentials: /api/v1/xapi/credentials (institution admins)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from masteryai_lti.core.policy import current_actor, require_roles
from masteryai_lti.core.schemas import ProblemSchema
from masteryai_lti.xapi import credentials, rules
from masteryai_lti.xapi.models import SCOPES
from masteryai_lti.xapi.vocabulary import IGNORE, KINDS

rules_blp = Blueprint(
    "xapi_engagement_rules",
    __name__,
    url_prefix="/api/v1/xapi/engagement-rules",
    description=(
        "Your institution's overrides of which engagement kind a statement's verb and "
        "activity type stand for (defaults cover ADL, cmi5, H5P, Moodle and Open edX)."
    ),
)
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


class EngagementRuleSchema(Schema):
    id = fields.Integer(dump_only=True)
    verb_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=512))
    activity_type = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=512)
    )
    kind = fields.String(required=True, validate=validate.OneOf([*KINDS, IGNORE]))


@rules_blp.route("")
class EngagementRules(MethodView):
    @rules_blp.doc(security=BEARER)
    @require_roles("admin")
    @rules_blp.response(200, EngagementRuleSchema(many=True))
    def get(self):
        """The institution's overrides (the built-in defaults apply where none matches)."""
        return rules.list_rules(_institution_id())

    @rules_blp.doc(security=BEARER)
    @require_roles("admin")
    @rules_blp.arguments(EngagementRuleSchema)
    @rules_blp.response(201, EngagementRuleSchema)
    @rules_blp.alt_response(422, schema=ProblemSchema, description="Neither verb nor type")
    def post(self, payload):
        """Add or replace the rule for a verb, an activity type, or both."""
        return rules.set_rule(_institution_id(), **payload)


@rules_blp.route("/<int:rule_id>")
class EngagementRuleResource(MethodView):
    @rules_blp.doc(security=BEARER)
    @require_roles("admin")
    @rules_blp.response(204)
    @rules_blp.alt_response(404, schema=ProblemSchema, description="No such rule here")
    def delete(self, rule_id):
        """Remove an override; the default applies again."""
        rules.delete_rule(_institution_id(), rule_id)
