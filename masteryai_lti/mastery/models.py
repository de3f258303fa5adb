"""Mastery tables: concept maps, items, activity mappings, attempts, mastery, assignments.

A *concept map* (the stored form of a :class:`~masteryai_lti.mastery.graph.ConceptGraph`)
belongs to an institution and can be used by many courses, so a department builds
it once; its item bank and xAPI activity mappings travel with it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.types import JsonDocument, UtcDateTime
from masteryai_lti.extensions import db

ITEM_KINDS = ("multiple_choice", "numeric", "short_text")
DIFFICULTY_LABELS = ("easy", "medium", "hard")
# A few paragraphs of worked reasoning; longer belongs in the course's own material.
EXPLANATION_MAX_LENGTH = 5000
ATTEMPT_SOURCES = ("player", "xapi", "import")


class ConceptMap(db.Model):
    """A concept graph of an institution, reusable by several courses.

    It belongs to the course it was made for (``owner_course_id``): that course's
    teachers and the institution's admins change it and see its item bank; teachers of
    other courses using it read the graph and practise on it, nothing more. None once
    the owning course is deleted (or for a graph whose owner an upgrade could not
    tell): then only admins change it.
    """

    __tablename__ = "mastery_concept_maps"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    owner_course_id: Mapped[int | None] = mapped_column(
        ForeignKey("courses.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class CourseConceptMap(db.Model):
    """Which concept map a course uses (one per course; a map serves many courses)."""

    __tablename__ = "mastery_course_maps"

    course_id: Mapped[int] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True
    )
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    concept_map_id: Mapped[int] = mapped_column(
        ForeignKey("mastery_concept_maps.id", ondelete="CASCADE"), index=True
    )


class Concept(db.Model):
    """A node of a concept map, addressed by ``key`` within it."""

    __tablename__ = "mastery_concepts"
    __table_args__ = (UniqueConstraint("concept_map_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    concept_map_id: Mapped[int] = mapped_column(
        ForeignKey("mastery_concept_maps.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # The engine's belief about where students start on this concept, learned from
    # first attempts across students (``engine.ConceptPrior``); None until then.
    prior: Mapped[dict | None] = mapped_column(JsonDocument)


class ConceptPrerequisite(db.Model):
    """Edge: ``prerequisite_id`` must be ready before ``concept_id`` (the service keeps a DAG)."""

    __tablename__ = "mastery_concept_prerequisites"
    __table_args__ = (UniqueConstraint("concept_id", "prerequisite_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    concept_id: Mapped[int] = mapped_column(
        ForeignKey("mastery_concepts.id", ondelete="CASCADE"), index=True
    )
    prerequisite_id: Mapped[int] = mapped_column(
        ForeignKey("mastery_concepts.id", ondelete="CASCADE"), index=True
    )


class Item(db.Model):
    """A question of the bank: multiple choice, numeric or short text.

    ``answer`` holds what grading needs and is never shown to students:
    ``{"correct": ["b"]}``, ``{"value": 2.5, "tolerance": 0.01}`` or
    ``{"accepted": ["photosynthesis"], "case_sensitive": false}``.
    ``difficulty`` is learned from responses (logit; 0 average, positive harder).
    ``explanation`` is the teacher's worked reasoning, shown to the student only
    after they have answered (it may give the answer away, so never with the prompt).
    """

    __tablename__ = "mastery_items"
    __table_args__ = (UniqueConstraint("concept_map_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    concept_map_id: Mapped[int] = mapped_column(
        ForeignKey("mastery_concept_maps.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    prompt: Mapped[str] = mapped_column(Text)
    choices: Mapped[list | None] = mapped_column(JsonDocument)
    answer: Mapped[dict] = mapped_column(JsonDocument)
    explanation: Mapped[str | None] = mapped_column(Text)
    difficulty_label: Mapped[str] = mapped_column(String(10), default="medium")
    # The engine's Gaussian belief about the difficulty, seeded from the label.
    difficulty: Mapped[float] = mapped_column(Float, default=0.0)
    difficulty_var: Mapped[float | None] = mapped_column(Float)
    response_count: Mapped[int] = mapped_column(Integer, default=0)
    correct_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class ItemConcept(db.Model):
    """Tag: an item exercises a concept (an item may exercise several)."""

    __tablename__ = "mastery_item_concepts"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("mastery_items.id", ondelete="CASCADE"), primary_key=True
    )
    concept_id: Mapped[int] = mapped_column(
        ForeignKey("mastery_concepts.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ActivityMapping(db.Model):
    """An outside xAPI activity (H5P, SCORM quiz...) counted as practice of concepts."""

    __tablename__ = "mastery_activity_mappings"
    __table_args__ = (UniqueConstraint("concept_map_id", "activity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    concept_map_id: Mapped[int] = mapped_column(
        ForeignKey("mastery_concept_maps.id", ondelete="CASCADE"), index=True
    )
    activity_id: Mapped[str] = mapped_column(String(1024))
    concept_keys: Mapped[list] = mapped_column(JsonDocument)
    difficulty_label: Mapped[str] = mapped_column(String(10), default="medium")
    difficulty: Mapped[float] = mapped_column(Float, default=0.0)
    difficulty_var: Mapped[float | None] = mapped_column(Float)
    response_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Attempt(db.Model):
    """One answer by a student, from the player, xAPI or a bulk import.

    Unique on ``(institution_id, source, source_id)`` so a re-posted attempt
    counts once.
    """

    __tablename__ = "mastery_attempts"
    __table_args__ = (UniqueConstraint("institution_id", "source", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int | None] = mapped_column(
        ForeignKey("courses.id", ondelete="SET NULL"), index=True
    )
    item_id: Mapped[int | None] = mapped_column(
        ForeignKey("mastery_items.id", ondelete="SET NULL"), index=True
    )
    activity_id: Mapped[str | None] = mapped_column(String(1024))
    source: Mapped[str] = mapped_column(String(20))
    source_id: Mapped[str] = mapped_column(String(255))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    correct: Mapped[bool] = mapped_column(Boolean)
    score: Mapped[float | None] = mapped_column(Float)
    duration_s: Mapped[float | None] = mapped_column(Float)
    response: Mapped[dict | None] = mapped_column(JsonDocument)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class AttemptConcept(db.Model):
    """The mastery of one concept right before and after an attempt (the evidence trail)."""

    __tablename__ = "mastery_attempt_concepts"

    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("mastery_attempts.id", ondelete="CASCADE"), primary_key=True
    )
    concept_id: Mapped[int] = mapped_column(
        ForeignKey("mastery_concepts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    mastery_before: Mapped[float] = mapped_column(Float)
    mastery_after: Mapped[float] = mapped_column(Float)


class LearnerModel(db.Model):
    """The engine's whole state for one student (ability and every concept belief).

    Concept beliefs are keyed by concept id (as text) so two concept maps that
    both have a "fractions" key never share a belief.
    """

    __tablename__ = "mastery_learner_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    state: Mapped[dict] = mapped_column(JsonDocument)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class MasteryState(db.Model):
    """Snapshot of one student's mastery of one concept right after their last attempt.

    Kept for queries and exports; read-time views ask the engine, which applies
    decay up to now from :class:`LearnerModel`.
    """

    __tablename__ = "mastery_states"
    __table_args__ = (UniqueConstraint("user_id", "concept_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    concept_id: Mapped[int] = mapped_column(
        ForeignKey("mastery_concepts.id", ondelete="CASCADE"), index=True
    )
    mastery: Mapped[float] = mapped_column(Float)
    uncertainty: Mapped[float] = mapped_column(Float)
    peak_mastery: Mapped[float] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    correct: Mapped[int] = mapped_column(Integer, default=0)
    last_practiced_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Assignment(db.Model):
    """A generated, personalised set of items for one student of a course."""

    __tablename__ = "mastery_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="open")
    # length, pinned and excluded concept keys: what the teacher asked for
    settings: Mapped[dict] = mapped_column(JsonDocument)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The LMS placement (an LTI resource link) the student opened it from: its score
    # goes to that link's gradebook column when the assignment is completed.
    resource_link_pk: Mapped[int | None] = mapped_column(
        ForeignKey("lti_resource_links.id", ondelete="SET NULL"), index=True
    )


class AssignmentItem(db.Model):
    """One pick of an assignment, in order, with the reason it was chosen."""

    __tablename__ = "mastery_assignment_items"
    __table_args__ = (UniqueConstraint("assignment_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("mastery_assignments.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("mastery_items.id", ondelete="SET NULL"))
    concept_id: Mapped[int | None] = mapped_column(
        ForeignKey("mastery_concepts.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(20))
    difficulty_label: Mapped[str] = mapped_column(String(10))
    predicted_success: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("mastery_attempts.id", ondelete="SET NULL")
    )
