"""pylti1p3's tool configuration over the registration and deployment tables.

Every issuer is treated as "one issuer, many client ids" (hosted Canvas), so
pylti1p3 always looks registrations up by (issuer, client_id). Lookups go
through the registry's per-process cache (:func:`registry.registration_view`),
so a login and its launch usually cost no registration or deployment query.

Deployments: a known registration's unseen deployment id (a course copy, a new
install) is accepted and recorded by default — recorded by the launch only once
the whole launch has validated. With ``LTI_REFUSE_UNKNOWN_DEPLOYMENTS`` it is
refused instead.
"""

from __future__ import annotations

from pylti1p3.deployment import Deployment
from pylti1p3.registration import Registration
from pylti1p3.tool_config import ToolConfAbstract

from masteryai_lti.lti import keys, registry
from masteryai_lti.lti.models import LtiRegistration
from masteryai_lti.lti.registry import RegistrationView


class DbRegistration(Registration):
    """A pylti1p3 Registration that remembers its row."""

    def __init__(self, row: LtiRegistration | RegistrationView) -> None:
        super().__init__()
        self.row_id = row.id
        self.view = row if isinstance(row, RegistrationView) else None
        self.institution_id = row.institution_id
        self.platform_family = row.platform_family
        self.set_issuer(row.issuer)
        self.set_client_id(row.client_id)
        self.set_auth_login_url(row.auth_login_url)
        self.set_auth_token_url(row.auth_token_url)
        if row.auth_audience:
            self.set_auth_audience(row.auth_audience)
        self.set_key_set_url(row.key_set_url)
        self.set_key_set(row.key_set)

    def get_tool_private_key(self) -> str | None:
        # Loaded lazily: only service calls (AGS, NRPS, deep linking) sign.
        if self._tool_private_key is None:
            self._tool_private_key = keys.signing_key().private_key_pem
        return self._tool_private_key

    def get_kid(self) -> str | None:
        return keys.signing_key().kid


class DbDeployment(Deployment):
    """A deployment, flagged when it was first seen in this launch (not yet recorded)."""

    def __init__(self, deployment_id: str, known: bool) -> None:
        super().__init__()
        self.set_deployment_id(deployment_id)
        self.known = known


class DatabaseToolConf(ToolConfAbstract):
    """``ToolConfAbstract`` reading ``lti_registrations`` and ``lti_deployments``."""

    def __init__(self, refuse_unknown_deployments: bool = False) -> None:
        super().__init__()
        self.refuse_unknown_deployments = refuse_unknown_deployments
        self.issuers_relation_types = {}
        self._registrations: dict[tuple[str, str | None], DbRegistration | None] = {}

    # Every issuer may have many client ids; pylti1p3 then calls the *_by_params methods.
    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def _registration(self, iss: str, client_id: str | None) -> DbRegistration | None:
        key = (iss, client_id)
        if key not in self._registrations:
            row = registry.registration_view(iss, client_id)
            usable = row is not None and row.status == "active"
            self._registrations[key] = DbRegistration(row) if usable else None
        return self._registrations[key]

    def adopt(self, row: LtiRegistration | RegistrationView) -> DbRegistration | None:
        """The registration for an already loaded row (saves a query per launch)."""
        registration = DbRegistration(row) if row.status == "active" else None
        self._registrations[(row.issuer, row.client_id)] = registration
        return registration

    def find_registration_by_issuer(self, iss: str, *args, **kwargs) -> Registration | None:
        """The issuer's only registration (logins that omit client_id)."""
        return self._registration(iss, None)

    def find_registration_by_params(
        self, iss: str, client_id: str | None, *args, **kwargs
    ) -> Registration | None:
        """The active registration (iss, client_id), or None."""
        return self._registration(iss, client_id)

    def find_deployment(self, iss: str, deployment_id: str) -> Deployment | None:
        return self.find_deployment_by_params(iss, deployment_id, None)

    def find_deployment_by_params(
        self, iss: str, deployment_id: str, client_id: str | None, *args, **kwargs
    ) -> Deployment | None:
        """The deployment, or an unrecorded one when the policy accepts unseen ids."""
        registration = self._registration(iss, client_id)
        if registration is None or not deployment_id:
            return None
        if registration.view is not None:
            known = registry.deployment_is_known(registration.view, deployment_id)
        else:
            known = registry.find_deployment(registration.row_id, deployment_id) is not None
        if known:
            return DbDeployment(deployment_id, known=True)
        if self.refuse_unknown_deployments:
            return None
        return DbDeployment(deployment_id, known=False)
