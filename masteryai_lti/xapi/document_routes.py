"""The document resources' HTTP surface, on the ``xapi`` blueprint of ``routes``:
``/xapi/activities/state``, ``/xapi/activities/profile`` and ``/xapi/agents/profile``.

xAPI 1.0.3 Communication 2.2, 2.3, 2.6, 2.7 and 3.1; IEEE 9274.1.1 (2.0) 4.1.4,
4.1.6.2, 4.1.6.5 and 4.1.6.6. The handler reads the request the way the Statement
resource does (alternate syntax, version, credential), turns the parameters into a
``DocumentAddress`` and calls one ``documents`` function.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from flask import Response, request

from masteryai_lti.xapi import documents, routes
from masteryai_lti.xapi.documents import DocumentAddress, Preconditions
from masteryai_lti.xapi.indexing import agent_key
from masteryai_lti.xapi.models import ACTIVITY_PROFILE, AGENT_PROFILE, STATE
from masteryai_lti.xapi.service import XapiBadRequest, bad_request
from masteryai_lti.xapi.timestamps import TimestampError, parse_timestamp
from masteryai_lti.xapi.validation import is_iri, is_uuid, validate_agent_parameter

_METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE"]
_DEFAULT_CONTENT_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class _Resource:
    kind: str
    context: tuple[str, ...]  # required parameters naming the context
    id_param: str
    optional: tuple[str, ...] = ()
    # Communication 2.3.s5: only State deletes a whole context when the id is omitted.
    deletes_all: bool = False


_RESOURCES = {
    "activities/state": _Resource(
        STATE, ("activityId", "agent"), "stateId", ("registration",), deletes_all=True
    ),
    "activities/profile": _Resource(ACTIVITY_PROFILE, ("activityId",), "profileId"),
    "agents/profile": _Resource(AGENT_PROFILE, ("agent",), "profileId"),
}


def _agent_key(text: str, version: str) -> str:
    agent, problems = validate_agent_parameter(text, version)
    if problems:
        raise XapiBadRequest(problems)
    return agent_key(agent)


def _address(resource: _Resource, params: dict[str, str], version: str) -> DocumentAddress:
    allowed = {*resource.context, *resource.optional, resource.id_param, "since"}
    for name in params:
        if name not in allowed:
            raise bad_request(name, f"'{name}' is not a parameter of this resource")
    for name in resource.context:
        if name not in params:
            raise bad_request(name, f"the {name} parameter is required")
    activity_id = params.get("activityId")
    if activity_id is not None and not is_iri(activity_id):
        raise bad_request("activityId", "activityId must be an IRI")
    registration = params.get("registration")
    if registration is not None and not is_uuid(registration):
        raise bad_request("registration", "registration must be a UUID")
    document_id = params.get(resource.id_param)
    if document_id == "":
        raise bad_request(resource.id_param, f"{resource.id_param} must not be empty")
    return DocumentAddress(
        kind=resource.kind,
        activity_id=activity_id,
        agent_key=_agent_key(params["agent"], version) if "agent" in params else None,
        registration=uuid.UUID(registration) if registration is not None else None,
        document_id=document_id,
    )


def _since(params: dict[str, str]) -> datetime | None:
    if "since" not in params:
        return None
    try:
        return parse_timestamp(params["since"])[0]
    except TimestampError as exc:
        raise bad_request("since", f"since must be an ISO 8601 timestamp: {exc}") from None


def _http_date(instant: datetime) -> str:
    return format_datetime(instant, usegmt=True)


@routes.bp.route("/activities/state", methods=_METHODS, defaults={"name": "activities/state"})
@routes.bp.route("/activities/profile", methods=_METHODS, defaults={"name": "activities/profile"})
@routes.bp.route("/agents/profile", methods=_METHODS, defaults={"name": "agents/profile"})
def document_resources(name: str):
    """State, Activity Profile and Agent Profile resources (Communication 2.2-2.7)."""
    xreq, credential = routes.authenticated_request()
    if xreq.multi:
        raise bad_request(xreq.multi[0], "a parameter may be given only once")
    resource = _RESOURCES[name]
    params = xreq.params
    address = _address(resource, params, xreq.version)
    method = xreq.method
    if "since" in params and (method not in ("GET", "HEAD") or address.document_id is not None):
        raise bad_request("since", "since applies only to a GET that lists document ids")
    if address.document_id is None and method in ("PUT", "POST"):
        raise bad_request(resource.id_param, f"the {resource.id_param} parameter is required")
    preconditions = Preconditions(xreq.headers.get("If-Match"), xreq.headers.get("If-None-Match"))

    if method in ("GET", "HEAD"):
        response = _read(credential, address, _since(params), preconditions.if_none_match)
        if method == "HEAD" or request.method == "HEAD":
            response.set_data(b"")
        return response
    if method == "PUT":
        documents.put_document(
            credential,
            address,
            _content_type(xreq),
            xreq.body,
            preconditions,
            version=xreq.version,
        )
    elif method == "POST":
        documents.post_document(credential, address, _content_type(xreq), xreq.body, preconditions)
    elif address.document_id is not None:
        documents.delete_document(credential, address, preconditions)
    elif resource.deletes_all:
        documents.delete_documents(credential, address)
    else:
        raise bad_request(resource.id_param, f"the {resource.id_param} parameter is required")
    return Response(status=204)


def _content_type(xreq) -> str:
    content_type = xreq.headers.get("Content-Type") or _DEFAULT_CONTENT_TYPE
    if len(content_type) > 255:
        raise bad_request("Content-Type", "the Content-Type header is longer than 255 characters")
    return content_type


def _read(
    credential, address: DocumentAddress, since: datetime | None, if_none_match: str | None
) -> Response:
    if address.document_id is not None:
        document = documents.get_document(credential, address)
        if documents.unchanged_for(if_none_match, document.etag):
            # RFC 9110 13.1.2: the client's copy is current; validators, no body.
            response = Response(status=304)
        else:
            response = Response(document.content, status=200, content_type=document.content_type)
        response.headers["ETag"] = f'"{document.etag}"'
        response.headers["Last-Modified"] = _http_date(document.updated)
        return response
    listed = documents.list_documents(credential, address, since)
    response = Response(
        json.dumps(listed.ids, ensure_ascii=False), status=200, mimetype="application/json"
    )
    if listed.last_modified is not None:
        response.headers["Last-Modified"] = _http_date(listed.last_modified)
    return response
