"""Roster sync through LTI Names and Role Provisioning Services 2.0.

Members who never launched the tool still get a user (linked by their LTI
``iss|sub``) and an enrollment, so the engines see inactive students — the ones
most at risk (DESIGN.md §5). Section numbers refer to 1EdTech "LTI NRPS 2.0".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import requests
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from masteryai_lti.core.errors import Conflict, NotFound
from masteryai_lti.core.policy import Actor, ensure_can_teach
from masteryai_lti.courses import service as courses
from masteryai_lti.courses.models import Course, Enrollment
from masteryai_lti.extensions import db
from masteryai_lti.identity import service as identity
from masteryai_lti.identity.models import User, UserIdentity
from masteryai_lti.lti import quirks
from masteryai_lti.lti.models import LtiRegistration, ResourceLink, platform_user_key
from masteryai_lti.lti.platform_tokens import service_client_for
from masteryai_lti.lti.roles import map_roles
from masteryai_lti.lti.service_client import PlatformServiceClient, PlatformServiceError

log = logging.getLogger(__name__)

SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
MEDIA_MEMBERSHIP_CONTAINER = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"

# §2.2: a member is Active unless the platform says Inactive or Deleted.
_ACTIVE = "Active"


@dataclass(frozen=True)
class RosterMember:
    """One member of a context as NRPS reports it (§2.2)."""

    user_id: str
    roles: tuple[str, ...]
    status: str
    name: str
    email: str | None

    @property
    def active(self) -> bool:
        """Whether the member is currently in the course."""
        return self.status == _ACTIVE


@dataclass
class RosterSyncReport:
    """What a sync did."""

    pages: int = 0
    members: int = 0
    users_created: int = 0
    enrollments_active: int = 0
    enrollments_deactivated: int = 0
    observers: int = 0
    # The LMS's test students (Canvas Student View): enrolled, left out of the class.
    test_users: int = 0
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """Plain counts, for the API and the CLI."""
        return {
            "pages": self.pages,
            "members": self.members,
            "users_created": self.users_created,
            "enrollments_active": self.enrollments_active,
            "enrollments_deactivated": self.enrollments_deactivated,
            "observers": self.observers,
            "test_users": self.test_users,
            "skipped": len(self.skipped),
        }


def parse_member(item: object, quirk: quirks.PlatformQuirks) -> RosterMember | None:
    """Read one ``members`` entry; None when it has no ``user_id`` (nothing to link)."""
    if not isinstance(item, dict) or not item.get("user_id"):
        return None
    roles = tuple(r for r in item.get("roles") or () if isinstance(r, str))
    status = item.get("status") or _ACTIVE
    claims = {
        "sub": str(item["user_id"]),
        "name": item.get("name"),
        "given_name": item.get("given_name"),
        "family_name": item.get("family_name"),
        "email": item.get("email"),
    }
    return RosterMember(
        user_id=str(item["user_id"]),
        roles=roles,
        status=status if status in (_ACTIVE, "Inactive", "Deleted") else _ACTIVE,
        name=quirk.display_name(claims),
        email=quirk.email(claims),
    )


def fetch_members(
    client: PlatformServiceClient,
    memberships_url: str,
    quirk: quirks.PlatformQuirks,
    *,
    context_id: str | None = None,
    page_size: int | None = None,
    report: RosterSyncReport | None = None,
) -> list[RosterMember]:
    """Every member of the context, across all pages (``Link: rel="next"``, §2.4.1).

    Refuses a membership container for another context than ``context_id``: the
    URL came from a launch, but a roster for the wrong course must never land.
    """
    params = {"limit": str(page_size)} if page_size else None
    members: dict[str, RosterMember] = {}
    for page in client.pages(memberships_url, [SCOPE_NRPS], MEDIA_MEMBERSHIP_CONTAINER, params):
        if report is not None:
            report.pages += 1
        body = page.body if isinstance(page.body, dict) else None
        if body is None or not isinstance(body.get("members"), list):
            raise PlatformServiceError(
                "membership container without a members list", status=page.status, retryable=False
            )
        page_context = (body.get("context") or {}).get("id")
        if context_id and page_context and str(page_context) != context_id:
            raise PlatformServiceError(
                "the platform returned the roster of another course", retryable=False
            )
        for item in body["members"]:
            member = parse_member(item, quirk)
            if member is None:
                if report is not None:
                    report.skipped.append(str(item)[:80])
                continue
            # A member repeated across pages (the roster changed while paging)
            # keeps its last state.
            members[member.user_id] = member
    return list(members.values())


def _memberships_url(course: Course) -> tuple[ResourceLink, str]:
    link = db.session.scalar(
        select(ResourceLink)
        .where(
            ResourceLink.course_id == course.id,
            ResourceLink.institution_id == course.institution_id,
            ResourceLink.nrps_context_memberships_url.is_not(None),
        )
        .order_by(ResourceLink.updated_at.desc(), ResourceLink.id.desc())
        .limit(1)
    )
    if link is None or not link.nrps_context_memberships_url:
        raise Conflict(
            "The LMS has not offered a roster service for this course yet; "
            "open the tool once from the course as a teacher."
        )
    return link, link.nrps_context_memberships_url


@dataclass
class _Known:
    """What the database already holds for a roster, read in a few queries up front so
    no member costs a query of their own: user ids by identity (``(kind, value)``) and
    the course's enrollments by user id."""

    users: dict[tuple[str, str], int]
    enrollments: dict[int, Enrollment]


# Identities looked up per query: two per member, so 2,500 members a query, binding
# about 5,000 parameters (SQLite takes 32,766, the figure SQLAlchemy's own batched
# INSERTs assume too).
_LOOKUP_CHUNK = 5000

# A member who launches for the first time while their course's roster is written
# can commit their user, identity or enrollment between the sync's read and its
# write. The write then fails as a whole, and the sync reads again and writes the
# rest (taking that launch's rows): each retry knows every clash seen so far, so only
# another member's first launch during the retry's own write makes a further one.
_WRITE_ATTEMPTS = 5


def _identities(registration: LtiRegistration, member: RosterMember) -> list[tuple[str, str]]:
    wanted = [("lti", platform_user_key(registration.issuer, member.user_id))]
    if member.email:
        wanted.append(("mbox", f"mailto:{member.email}"))
    return wanted


def _known(registration: LtiRegistration, course: Course, members: list[RosterMember]) -> _Known:
    wanted = [pair for member in members for pair in _identities(registration, member)]
    users: dict[tuple[str, str], int] = {}
    for start in range(0, len(wanted), _LOOKUP_CHUNK):
        users.update(
            identity.users_by_identities(
                registration.institution_id, wanted[start : start + _LOOKUP_CHUNK]
            )
        )
    return _Known(users, courses.enrollments_by_user(course.id))


def _write_members(
    registration: LtiRegistration,
    course: Course,
    members: list[RosterMember],
    report: RosterSyncReport,
    known: _Known,
) -> set[int]:
    """Users, identities and enrollments of the members, set-wise: one INSERT per table
    (per thousand rows) however many are new, so a big course's first sync costs no
    statements per member. Returns the members' user ids.

    Raises IntegrityError when a concurrent launch wrote one of the rows first; the
    caller's savepoint undoes the whole write then.
    """
    institution_id = registration.institution_id
    identities = [_identities(registration, member) for member in members]
    mapped = [map_roles(list(member.roles)) for member in members]
    newcomers = [n for n, (lti, *_) in enumerate(identities) if lti not in known.users]
    # Admin rights come only from a launch, where the platform signs the roles;
    # a roster entry grants course roles only.
    users = [
        User(
            institution_id=institution_id,
            full_name=members[n].name[:200],
            role=mapped[n].course_role,
        )
        for n in newcomers
    ]
    db.session.add_all(users)
    db.session.flush()
    # lti links first, then mailboxes: a launch links in that order too, so a sync
    # and a launch of the same person wait on each other in one order only.
    links = []
    for n, user in zip(newcomers, users, strict=True):
        known.users[identities[n][0]] = user.id
        links.append((user.id, *identities[n][0]))
    report.users_created += len(users)
    user_ids = [known.users[lti] for lti, *_ in identities]
    _rename_members(members, user_ids, set(newcomers))
    for user_id, (_, *mbox) in zip(user_ids, identities, strict=True):
        if not mbox:
            continue
        owner = known.users.get(mbox[0])
        if owner is None:
            # The first member on the roster with an address gets it.
            known.users[mbox[0]] = user_id
            links.append((user_id, *mbox[0]))
        elif owner != user_id:
            log.info("mbox of roster member %s already belongs to another user", user_id)
    identity.link_new_identities(institution_id, links)

    enrollments = []
    for member, user_id, role in zip(members, user_ids, mapped, strict=True):
        status = "active" if member.active else "inactive"
        enrollment = known.enrollments.get(user_id)
        if enrollment is None:
            enrollment = Enrollment(
                institution_id=institution_id,
                course_id=course.id,
                user_id=user_id,
                role=role.course_role,
                status=status,
                source="nrps",
                test_user=role.is_test_user,
            )
            enrollments.append(enrollment)
            known.enrollments[user_id] = enrollment
            # Counted as enrolled, then deactivated (as the sync always reported it).
            report.enrollments_deactivated += not member.active
        elif (enrollment.role, enrollment.status, enrollment.test_user) != (
            role.course_role,
            status,
            role.is_test_user,
        ):
            # An Inactive member already out of the course is not deactivated again.
            report.enrollments_deactivated += status == "inactive" and enrollment.status != status
            enrollment.role = role.course_role
            enrollment.status = status
            enrollment.test_user = role.is_test_user
        report.test_users += role.is_test_user
        report.enrollments_active += member.active
    db.session.add_all(enrollments)
    db.session.flush()
    return set(user_ids)


def _rename_members(members: list[RosterMember], user_ids: list[int], new: set[int]) -> None:
    """Known members take the name the LMS now gives them, as a launch would: a teacher
    reads the class table by these names, and a student renamed in the LMS may not
    launch for weeks. An empty name (an LMS withholding names) changes nothing."""
    known = [n for n in range(len(members)) if n not in new and members[n].name]
    names = courses.full_names([user_ids[n] for n in known])
    changed = {
        user_ids[n]: members[n].name[:200]
        for n in known
        if names.get(user_ids[n]) != members[n].name[:200]
    }
    if changed:
        db.session.execute(
            update(User), [{"id": user_id, "full_name": name} for user_id, name in changed.items()]
        )


def _deactivate_departed(
    registration: LtiRegistration, course: Course, present: set[int], report: RosterSyncReport
) -> None:
    """Members of this platform no longer on the roster become inactive (history stays)."""
    prefix = platform_user_key(registration.issuer)
    rows = db.session.scalars(
        select(Enrollment)
        .join(UserIdentity, UserIdentity.user_id == Enrollment.user_id)
        .where(
            Enrollment.course_id == course.id,
            Enrollment.status == "active",
            UserIdentity.institution_id == course.institution_id,
            UserIdentity.kind == "lti",
            UserIdentity.value.startswith(prefix, autoescape=True),
        )
    ).unique()
    for enrollment in rows:
        if enrollment.user_id not in present:
            enrollment.status = "inactive"
            report.enrollments_deactivated += 1


def sync_course(
    course_id: int, *, http: requests.Session | None = None, page_size: int | None = None
) -> RosterSyncReport:
    """Bring a course's enrollments in line with the LMS roster. Commits.

    Raises NotFound for an unknown course, Conflict when no launch has offered
    the roster service yet, PlatformServiceError when the platform fails (nothing
    is written then: a half-read roster must not deactivate anyone).
    """
    course = db.session.get(Course, course_id)
    if course is None:
        raise NotFound("No such course.")
    link, url = _memberships_url(course)
    registration = db.session.get(LtiRegistration, link.registration_id)
    quirk = quirks.for_family(registration.platform_family)
    report = RosterSyncReport()
    client = service_client_for(registration, http=http)
    members = fetch_members(
        client, url, quirk, context_id=course.lti_context_id, page_size=page_size, report=report
    )
    report.members = len(members)
    enrolled = [
        member for member in members if map_roles(list(member.roles)).course_role != "observer"
    ]
    # Parents and mentors are not enrolled; one enrolled as a student before is
    # deactivated with the departed below.
    report.observers = len(members) - len(enrolled)
    known = _known(registration, course, enrolled)
    for attempt in range(1, _WRITE_ATTEMPTS + 1):
        written = replace(report)
        try:
            with db.session.begin_nested():
                present = _write_members(registration, course, enrolled, written, known)
            break
        except IntegrityError:
            if attempt == _WRITE_ATTEMPTS:
                raise
            log.info("roster of course %s met a concurrent launch; reading it again", course.id)
            known = _known(registration, course, enrolled)
    report = written
    if present:
        _deactivate_departed(registration, course, present, report)
    db.session.commit()
    return report


def sync_course_for_actor(actor: Actor, course_id: int) -> RosterSyncReport:
    """A teacher (or admin) syncs their course's roster now."""
    course = courses.course_for_actor(actor, course_id)
    ensure_can_teach(actor, course)
    return sync_course(course.id)


def sync_course_job(course_id: int) -> dict:
    """Background form of :func:`sync_course` (for ``extensions.jobs.enqueue``).

    A platform failure is logged and reported, not raised: the next request retries.
    So is a roster that kept meeting members' first launches while it was written
    (IntegrityError after every attempt): nothing of it is committed.
    """
    try:
        return sync_course(course_id).as_dict()
    except (PlatformServiceError, Conflict, NotFound, IntegrityError) as exc:
        db.session.rollback()
        log.warning("roster sync of course %s failed: %s", course_id, exc)
        return {"error": str(exc)}


def courses_with_a_roster() -> list[int]:
    """Ids of the courses an LMS offered its roster service for (in a launch)."""
    return list(
        db.session.scalars(
            select(ResourceLink.course_id)
            .join(Course, Course.id == ResourceLink.course_id)
            .where(
                ResourceLink.nrps_context_memberships_url.is_not(None),
                ResourceLink.institution_id == Course.institution_id,
            )
            .distinct()
            .order_by(ResourceLink.course_id)
        )
    )


def sync_all_courses() -> dict[int, dict]:
    """Sync every course with a roster service, one after another (the nightly cron,
    so courses nobody opens stay current). A course whose LMS fails is reported as
    ``{"error": …}`` and the others go on; returns the report per course id."""
    return {course_id: sync_course_job(course_id) for course_id in courses_with_a_roster()}


# A course's roster is synced at most once per this many seconds when requested
# automatically (e.g. after every teacher launch).
AUTO_SYNC_INTERVAL_SECONDS = 3600


def request_sync(course_id: int, *, interval: int = AUTO_SYNC_INTERVAL_SECONDS) -> bool:
    """Enqueue a roster sync unless one was requested within ``interval`` seconds.

    Meant for the launch path: a teacher's launch calls it and returns at once (the
    sync runs on the RQ worker, inline in the embedded default). Returns whether a
    sync was enqueued. Without Redis the once-per-interval guard falls back to
    syncing (the cache answers False when down, so nothing is skipped silently).
    """
    from masteryai_lti.extensions import cache, jobs

    key = f"lti:roster-sync-requested:{course_id}"
    if cache.available and not cache.set_if_absent(key, True, ttl=interval):
        return False
    jobs.enqueue(sync_course_job, course_id)
    return True
