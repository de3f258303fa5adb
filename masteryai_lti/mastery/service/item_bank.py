"""The item bank of a course's concept map: create, read, change, delete, import, export.

Items are questions tagged with the concepts they exercise; a teacher of the map's
owning course manages them and they carry their answers, which never leave through
the student-facing views. :func:`grade_response` grades a student's response against
an item server-side.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import delete, select

from masteryai_lti.core.errors import Conflict, NotFound, ValidationFailed, field_error
from masteryai_lti.core.policy import Actor
from masteryai_lti.core.spreadsheet_cells import neutralise, restore
from masteryai_lti.extensions import db
from masteryai_lti.mastery.models import (
    DIFFICULTY_LABELS,
    EXPLANATION_MAX_LENGTH,
    ITEM_KINDS,
    Concept,
    ConceptMap,
    Item,
    ItemConcept,
)
from masteryai_lti.mastery.recommender import LABEL_DIFFICULTY
from masteryai_lti.mastery.service.access import _map_for
from masteryai_lti.mastery.service.concept_maps import concept_rows

# Bound on the ids in one IN (...) list (SQLite allows 32,766 variables).
_IN_CHUNK = 5000
ITEM_CSV_COLUMNS = (
    "key",
    "kind",
    "prompt",
    "concepts",
    "difficulty",
    "choices",
    "answer",
    "explanation",
)


@dataclass
class ItemView:
    """An item with its concept keys (what the API shows)."""

    item: Item
    concept_keys: list[str]

    def __getattr__(self, name):
        return getattr(self.item, name)


def _label_difficulty(label: str) -> float:
    return LABEL_DIFFICULTY.get(label, 0.0)


def _validate_item(data: Mapping, concepts: Mapping[str, Concept], path: str = "") -> list[dict]:
    errors = []
    prefix = f"{path}." if path else ""
    kind = data.get("kind")
    if kind not in ITEM_KINDS:
        errors.append(field_error(f"{prefix}kind", f"must be one of {', '.join(ITEM_KINDS)}"))
    label = data.get("difficulty_label", "medium")
    if label not in DIFFICULTY_LABELS:
        errors.append(field_error(f"{prefix}difficulty_label", "must be easy, medium or hard"))
    keys = data.get("concepts") or []
    if not keys:
        errors.append(field_error(f"{prefix}concepts", "tag at least one concept"))
    for i, k in enumerate(keys):
        if k not in concepts:
            errors.append(field_error(f"{prefix}concepts[{i}]", f"unknown concept {k!r}"))
    explanation = data.get("explanation")
    if explanation is not None and not isinstance(explanation, str):
        errors.append(field_error(f"{prefix}explanation", "must be text"))
    elif explanation is not None and len(explanation) > EXPLANATION_MAX_LENGTH:
        errors.append(
            field_error(f"{prefix}explanation", f"at most {EXPLANATION_MAX_LENGTH} characters")
        )
    answer = data.get("answer") or {}
    choices = data.get("choices") or []
    if kind == "multiple_choice":
        ids = [str(c.get("id")) for c in choices if isinstance(c, Mapping)]
        if len(ids) < 2 or len(ids) != len(choices):
            errors.append(field_error(f"{prefix}choices", "give at least two {id, text} choices"))
        correct = answer.get("correct")
        if not isinstance(correct, list) or not correct or not all(str(c) in ids for c in correct):
            errors.append(
                field_error(f"{prefix}answer.correct", "list the id(s) of the correct choice(s)")
            )
    elif kind == "numeric":
        value = answer.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float):
            errors.append(field_error(f"{prefix}answer.value", "must be a number"))
        tolerance = answer.get("tolerance", 0)
        if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or tolerance < 0:
            errors.append(field_error(f"{prefix}answer.tolerance", "must be a number >= 0"))
    elif kind == "short_text":
        accepted = answer.get("accepted")
        if (
            not isinstance(accepted, list)
            or not accepted
            or not all(isinstance(a, str) and a.strip() for a in accepted)
        ):
            errors.append(
                field_error(f"{prefix}answer.accepted", "list at least one accepted answer")
            )
    return errors


def _item_views(items: list[Item]) -> list[ItemView]:
    """Items with their concept keys, read in one query whatever the bank's size."""
    keys: dict[int, list[str]] = {item.id: [] for item in items}
    ids = list(keys)
    for start in range(0, len(ids), _IN_CHUNK):
        for item_id, key in db.session.execute(
            select(ItemConcept.item_id, Concept.key)
            .join(Concept, Concept.id == ItemConcept.concept_id)
            .where(ItemConcept.item_id.in_(ids[start : start + _IN_CHUNK]))
            .order_by(Concept.key)
        ):
            keys[item_id].append(key)
    return [ItemView(item, keys[item.id]) for item in items]


def _item_view(item: Item) -> ItemView:
    return _item_views([item])[0]


def _apply_item(item: Item, data: Mapping, concepts: Mapping[str, Concept]) -> None:
    label = data.get("difficulty_label", item.difficulty_label or "medium")
    if item.id is None or item.difficulty_label != label and not item.response_count:
        # An item nobody answered yet takes its difficulty from the label.
        item.difficulty = _label_difficulty(label)
    item.difficulty_label = label
    for name in ("kind", "prompt", "answer"):
        if name in data:
            setattr(item, name, data[name])
    if "choices" in data:
        item.choices = data["choices"] or None
    if "explanation" in data:
        # Blank is no explanation: the player then shows the verdict alone.
        item.explanation = (data["explanation"] or "").strip() or None
    if "concepts" in data:
        if item.id is not None:
            db.session.execute(delete(ItemConcept).where(ItemConcept.item_id == item.id))
        db.session.flush()
        for k in dict.fromkeys(data["concepts"]):
            db.session.add(ItemConcept(item_id=item.id, concept_id=concepts[k].id))


def create_item(actor: Actor, course_id: int, data: Mapping) -> ItemView:
    """Add an item to the course's bank (teachers)."""
    _, concept_map = _map_for(actor, course_id, teach=True)
    concepts = concept_rows(concept_map.id)
    errors = _validate_item(data, concepts)
    if errors:
        raise ValidationFailed("The item is not valid.", errors=errors)
    key = data.get("key") or uuid.uuid4().hex[:12]
    if db.session.scalar(
        select(Item.id).where(Item.concept_map_id == concept_map.id, Item.key == key)
    ):
        raise Conflict(f"An item with key {key!r} already exists.")
    item = Item(
        institution_id=concept_map.institution_id,
        concept_map_id=concept_map.id,
        key=key,
        kind=data["kind"],
        prompt=data.get("prompt", ""),
        answer=data.get("answer") or {},
    )
    db.session.add(item)
    db.session.flush()
    _apply_item(item, data, concepts)
    db.session.commit()
    return _item_view(item)


def _item_in_map(concept_map: ConceptMap, item_id: int) -> Item:
    item = db.session.get(Item, item_id)
    if item is None or item.concept_map_id != concept_map.id:
        raise NotFound("No such item.")
    return item


def get_item(actor: Actor, course_id: int, item_id: int) -> ItemView:
    """One item with its answer (teachers)."""
    _, concept_map = _map_for(actor, course_id, teach=True)
    return _item_view(_item_in_map(concept_map, item_id))


def update_item(actor: Actor, course_id: int, item_id: int, changes: Mapping) -> ItemView:
    """Change an item; the merged item is validated like a new one."""
    _, concept_map = _map_for(actor, course_id, teach=True)
    item = _item_in_map(concept_map, item_id)
    concepts = concept_rows(concept_map.id)
    current = _item_view(item)
    merged = {
        "kind": item.kind,
        "prompt": item.prompt,
        "choices": item.choices,
        "answer": item.answer,
        "difficulty_label": item.difficulty_label,
        "concepts": current.concept_keys,
        **changes,
    }
    errors = _validate_item(merged, concepts)
    if errors:
        raise ValidationFailed("The item is not valid.", errors=errors)
    _apply_item(item, changes, concepts)
    db.session.commit()
    return _item_view(item)


def delete_item(actor: Actor, course_id: int, item_id: int) -> None:
    """Remove an item from the bank (attempts keep their history)."""
    _, concept_map = _map_for(actor, course_id, teach=True)
    db.session.delete(_item_in_map(concept_map, item_id))
    db.session.commit()


def list_items(actor: Actor, course_id: int, concept_key: str | None = None) -> list[ItemView]:
    """The course's item bank, optionally only one concept's items (teachers)."""
    _, concept_map = _map_for(actor, course_id, teach=True)
    query = select(Item).where(Item.concept_map_id == concept_map.id).order_by(Item.id)
    if concept_key:
        query = (
            query.join(ItemConcept, ItemConcept.item_id == Item.id)
            .join(Concept, Concept.id == ItemConcept.concept_id)
            .where(Concept.key == concept_key)
        )
    return _item_views(list(db.session.scalars(query)))


def _item_document(view: ItemView) -> dict:
    return {
        "key": view.item.key,
        "kind": view.item.kind,
        "prompt": view.item.prompt,
        "concepts": view.concept_keys,
        "difficulty_label": view.item.difficulty_label,
        "choices": view.item.choices or [],
        "answer": view.item.answer,
        "explanation": view.item.explanation,
    }


def export_items(actor: Actor, course_id: int, fmt: str = "json") -> str:
    """The bank as JSON (``{"items": [...]}``) or CSV (choices and answer as JSON cells)."""
    documents = [_item_document(v) for v in list_items(actor, course_id)]
    if fmt != "csv":
        return json.dumps({"items": documents}, indent=2, ensure_ascii=False)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ITEM_CSV_COLUMNS)
    for d in documents:
        # Prompts and explanations are teachers' free text, and banks travel between
        # courses: no cell may reach a spreadsheet as a formula.
        writer.writerow(
            neutralise(cell)
            for cell in [
                d["key"],
                d["kind"],
                d["prompt"],
                "|".join(d["concepts"]),
                d["difficulty_label"],
                json.dumps(d["choices"], ensure_ascii=False) if d["choices"] else "",
                json.dumps(d["answer"], ensure_ascii=False),
                d["explanation"] or "",
            ]
        )
    return out.getvalue()


def _items_from_csv(text: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = {"key", "kind", "prompt", "concepts", "answer"} - set(reader.fieldnames or ())
    if missing:
        raise ValidationFailed(
            "The CSV header lacks: " + ", ".join(sorted(missing)),
            errors=[field_error("header", f"missing column {m!r}") for m in sorted(missing)],
        )
    documents = []
    for n, raw in enumerate(reader):
        row = {k: restore(v) if isinstance(v, str) else v for k, v in raw.items()}
        try:
            choices = json.loads(row["choices"]) if (row.get("choices") or "").strip() else []
            answer = json.loads(row["answer"])
        except json.JSONDecodeError as exc:
            raise ValidationFailed(
                "A JSON cell could not be read.",
                errors=[field_error(f"items[{n}]", f"choices/answer: {exc.msg}")],
            ) from exc
        documents.append(
            {
                "key": row["key"].strip(),
                "kind": row["kind"].strip(),
                "prompt": row["prompt"],
                "concepts": [k.strip() for k in row["concepts"].split("|") if k.strip()],
                "difficulty_label": (row.get("difficulty") or "medium").strip() or "medium",
                "choices": choices,
                "answer": answer,
                **({"explanation": row["explanation"]} if "explanation" in row else {}),
            }
        )
    return documents


def import_items(actor: Actor, course_id: int, payload, fmt: str = "json") -> dict:
    """Create or update items by key from JSON (``{"items": [...]}``) or CSV; all or nothing."""
    _, concept_map = _map_for(actor, course_id, teach=True)
    if fmt == "csv":
        documents = _items_from_csv(str(payload))
    else:
        document = payload if isinstance(payload, Mapping) else _json_or_422(str(payload))
        documents = document.get("items") if isinstance(document, Mapping) else None
        if not isinstance(documents, list):
            raise ValidationFailed(
                'Send {"items": [...]}.', errors=[field_error("items", "must be a list")]
            )
    concepts = concept_rows(concept_map.id)
    errors: list[dict] = []
    seen: set[str] = set()
    for i, d in enumerate(documents):
        if not isinstance(d, Mapping):
            errors.append(field_error(f"items[{i}]", "must be an object"))
            continue
        errors.extend(_validate_item(d, concepts, f"items[{i}]"))
        key = d.get("key")
        if not isinstance(key, str) or not key.strip():
            errors.append(field_error(f"items[{i}].key", "required"))
        elif key in seen:
            errors.append(field_error(f"items[{i}].key", f"duplicate key {key!r}"))
        else:
            seen.add(key)
    if errors:
        raise ValidationFailed(f"{len(errors)} problem(s) in the items.", errors=errors)
    existing = {
        i.key: i
        for i in db.session.scalars(select(Item).where(Item.concept_map_id == concept_map.id))
    }
    created = updated = 0
    for d in documents:
        item = existing.get(d["key"])
        if item is None:
            item = Item(
                institution_id=concept_map.institution_id,
                concept_map_id=concept_map.id,
                key=d["key"],
                kind=d["kind"],
                prompt=d.get("prompt", ""),
                answer=d["answer"],
            )
            db.session.add(item)
            db.session.flush()
            created += 1
        else:
            updated += 1
        _apply_item(item, d, concepts)
    db.session.commit()
    return {"created": created, "updated": updated}


def _json_or_422(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            "The body is not valid JSON.", errors=[field_error("$", exc.msg)]
        ) from exc


_SPACES = re.compile(r"\s+")


def grade_response(item: Item, response) -> tuple[bool, float]:
    """Grade a response server-side: ``(correct, score 0..1)``.

    Multiple choice: ``{"choice": "b"}`` or ``{"choices": ["a", "c"]}`` (exact set);
    numeric: ``{"value": 2.5}`` within the tolerance (anything that is not a finite
    number: ValidationFailed); short text: ``{"text": "..."}``
    matched against the accepted answers ignoring case and spacing unless
    ``case_sensitive``.
    """
    if not isinstance(response, Mapping):
        response = {"value": response}
    answer = item.answer or {}
    if item.kind == "multiple_choice":
        given = response.get("choices")
        if given is None:
            given = [response.get("choice", response.get("value"))]
        given_set = {str(g) for g in given if g is not None}
        correct_set = {str(c) for c in answer.get("correct", [])}
        ok = given_set == correct_set
        return ok, 1.0 if ok else 0.0
    if item.kind == "numeric":
        raw = response.get("value", response.get("text"))
        try:
            value = float(str(raw).strip().replace(",", "."))
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value):
            # A typo ("2.5x", "") is not a wrong answer: counting it would lower the
            # student's mastery for a slip of the keyboard. Nothing is recorded.
            raise ValidationFailed(
                "A numeric question takes a number.",
                errors=[field_error("response.value", "a number, such as 2.5 or 2,5")],
            )
        tolerance = float(answer.get("tolerance", 0) or 0)
        ok = abs(value - float(answer["value"])) <= tolerance + 1e-9
        return ok, 1.0 if ok else 0.0
    text = str(response.get("text", response.get("value", "")) or "")
    sensitive = bool(answer.get("case_sensitive"))

    def norm(s: str) -> str:
        s = _SPACES.sub(" ", s.strip())
        return s if sensitive else s.casefold()

    ok = norm(text) in {norm(a) for a in answer.get("accepted", [])}
    return ok, 1.0 if ok else 0.0
