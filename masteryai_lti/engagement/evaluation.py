"""Early at-risk evaluation on OULAD (offline; needs no database).

OULAD rows become the same inputs the product builds from engagement events
(`ActivityTable`, `DueItem`, `SubmissionTable`) and go through the same
`engine.compute_course` and `risk.assess_course`. The risk model is fitted on
the 2013 presentations only and reported on 2014.

Mapping (documented in docs/engagement.md):
- every studentVle row is activity on its day; ``quiz`` sites are quiz attempts,
  forum/collaboration/wiki sites are interactions, everything else resource views;
- TMAs are assignments (submission + timeliness), CMAs are quizzes with due days;
  exams are outside the early window and ignored;
- roster = students still registered at the cut-off (day 7·K); the outcome is
  final_result in {Withdrawn, Fail};
- enrolment context: other courses at the same time = the credits a student
  studies beyond the module's own (the fewest any student of the presentation
  studies), one course per started 60 credits; earlier runs = previous attempts
  at the module. No demographic field of studentInfo is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .engine import (
    DEFAULT_WEIGHTS,
    KIND_CODE,
    ActivityTable,
    CourseEngagement,
    CourseInput,
    DueItem,
    SubmissionTable,
    compute_course,
)
from .risk import RiskModel, assess_course, features, fit_standardised

INTERACTION_SITES = frozenset({"forumng", "oucollaborate", "ouelluminate", "ouwiki"})
QUIZ_SITES = frozenset({"quiz", "externalquiz"})
# Opening the module's home page is entering the course: an LTI launch in the product.
LAUNCH_SITES = frozenset({"homepage"})
TRAIN_YEAR = "2013"
# The VLE opens before the presentation starts; activity then is known at the
# cut-off, so the period reaches back this many days before day 0.
PRE_START_DAYS = 14
TEST_YEAR = "2014"
# Credits of a typical Open University module: the unit for counting other courses.
CREDITS_PER_COURSE = 60
# L2 penalty on standardised features, chosen by `cross_validate_train_years`
# (mean of weeks 2/4/8 over 1, 30, 100, 300) on the 2013 presentations only.
RISK_L2 = 100.0
FEATURES_CHOSEN_BY = (
    "leave-one-module-out CV inside 2013 (evaluation.cross_validate_train_years): "
    "weeks 2/4/8 0.7065/0.7725/0.8219; with medians over the students seen "
    "0.7065/0.7726/0.8215"
)


@dataclass
class PresentationData:
    """One module presentation turned into engine input, with outcomes."""

    module: str
    presentation: str
    course_input: CourseInput
    outcome: np.ndarray  # 1 = Withdrawn or Fail


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties count half); NaN with one class."""
    labels = np.asarray(labels, dtype=bool)
    pos, neg = int(labels.sum()), int((~labels).sum())
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    s = np.asarray(scores, dtype=float)[order]
    ranks = np.empty(len(s))
    # Average ranks over ties.
    _, first, counts = np.unique(s, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[labels].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def within_course_auc(groups: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """AUC over (positive, negative) pairs taken inside the same course only.

    Equals the per-course AUCs averaged with weights positives × negatives.
    """
    num = den = 0.0
    for scores, labels in groups:
        a = auc(scores, labels)
        if np.isnan(a):
            continue
        pairs = float(labels.sum()) * float((~labels.astype(bool)).sum())
        num += a * pairs
        den += pairs
    return num / den if den else float("nan")


def _read(path: Path, name: str):
    import pyarrow.parquet as pq

    return pq.read_table(path / f"{name}.parquet").to_pandas()


def load_oulad(
    path: str | Path, weeks: int, before_start: int = PRE_START_DAYS
) -> list[PresentationData]:
    """Read OULAD Parquet files and build one `PresentationData` per presentation.

    Only data known on day 7·weeks (exclusive) is used.
    """
    import pyarrow.dataset as ds

    path = Path(path)
    cutoff = 7 * weeks
    info = _read(path, "studentInfo")
    reg = _read(path, "studentRegistration")
    assessments = _read(path, "assessments")
    sa = _read(path, "studentAssessment")
    vle = _read(path, "vle")

    site_kind = {}
    for site, atype in zip(vle["id_site"].astype(int), vle["activity_type"], strict=True):
        if atype in LAUNCH_SITES:
            site_kind[site] = KIND_CODE["launch"]
        elif atype in QUIZ_SITES:
            site_kind[site] = KIND_CODE["quiz"]
        elif atype in INTERACTION_SITES:
            site_kind[site] = KIND_CODE["interaction"]
        else:
            site_kind[site] = KIND_CODE["resource_view"]
    max_site = max(site_kind) + 1
    kind_lut = np.full(max_site, KIND_CODE["resource_view"], dtype=np.int64)
    for site, code in site_kind.items():
        kind_lut[site] = code

    dataset = ds.dataset(path / "studentVle_ds", format="parquet", partitioning="hive")
    clicks = dataset.to_table(
        filter=(ds.field("date") < cutoff) & (ds.field("date") >= -before_start),
        columns=["code_module", "code_presentation", "id_student", "id_site", "date", "sum_click"],
    ).to_pandas()

    people = info.merge(reg, on=["code_module", "code_presentation", "id_student"])
    still = people["date_unregistration"].isna() | (people["date_unregistration"] >= cutoff)
    people = people[still & (people["date_registration"].fillna(-1e9) < cutoff)]

    sa = sa.merge(assessments, on="id_assessment")
    sa = sa[(sa["assessment_type"] != "Exam") & (sa["date_submitted"] < cutoff)]

    module_credits = info.groupby(["code_module", "code_presentation"])["studied_credits"].min()
    out: list[PresentationData] = []
    click_groups = dict(iter(clicks.groupby(["code_module", "code_presentation"], observed=True)))
    sa_groups = dict(iter(sa.groupby(["code_module", "code_presentation"])))
    for (module, pres), group in people.groupby(["code_module", "code_presentation"]):
        roster = group["id_student"].astype(np.int64).to_numpy()
        index = {int(s): i for i, s in enumerate(roster)}
        outcome = group["final_result"].isin(["Withdrawn", "Fail"]).to_numpy().astype(np.int64)
        extra_credits = group["studied_credits"].to_numpy(float) - module_credits[(module, pres)]
        other_courses = np.ceil(np.maximum(extra_credits, 0.0) / CREDITS_PER_COURSE)
        earlier_runs = group["num_of_prev_attempts"].fillna(0).to_numpy()

        cg = click_groups.get((module, pres))
        if cg is not None and len(cg):
            sid = cg["id_student"].astype(np.int64).to_numpy()
            rows = np.fromiter((index.get(int(s), -1) for s in sid), dtype=np.int64, count=len(sid))
            keep = rows >= 0
            sites = cg["id_site"].astype(np.int64).to_numpy()[keep]
            activity = ActivityTable(
                student=rows[keep],
                kind=kind_lut[np.minimum(sites, max_site - 1)],
                day=cg["date"].astype(np.int64).to_numpy()[keep],
                count=cg["sum_click"].to_numpy(dtype=np.float64)[keep],
            )
        else:
            activity = ActivityTable.empty()

        items_df = assessments[
            (assessments["code_module"] == module)
            & (assessments["code_presentation"] == pres)
            & (assessments["assessment_type"] != "Exam")
            & assessments["date"].notna()
        ]
        item_index = {}
        items = []
        for aid, atype, due in zip(
            items_df["id_assessment"].astype(int),
            items_df["assessment_type"],
            items_df["date"].astype(int),
            strict=True,
        ):
            item_index[aid] = len(items)
            items.append(DueItem(str(aid), "quiz" if atype == "CMA" else "submission", due))

        sg = sa_groups.get((module, pres))
        if sg is not None and len(sg):
            srows, sitems, sdays, sscores = [], [], [], []
            for st, aid, day, score in zip(
                sg["id_student"].astype(int),
                sg["id_assessment"].astype(int),
                sg["date_submitted"].astype(int),
                sg["score"],
                strict=True,
            ):
                r = index.get(st)
                it = item_index.get(aid)
                if r is None or it is None:
                    continue
                srows.append(r)
                sitems.append(it)
                sdays.append(day)
                sscores.append(np.nan if np.isnan(score) else score / 100.0)
            submissions = SubmissionTable(
                np.asarray(srows, dtype=np.int64),
                np.asarray(sitems, dtype=np.int64),
                np.asarray(sdays, dtype=np.int64),
                np.asarray(sscores, dtype=np.float64),
            )
        else:
            submissions = SubmissionTable.empty()

        ci = CourseInput(
            roster=roster.tolist(),
            activity=activity,
            items=items,
            submissions=submissions,
            as_of_day=cutoff - 1,
            period_days=cutoff + before_start,
            weights=dict(DEFAULT_WEIGHTS),
            other_courses=other_courses.astype(np.int64),
            earlier_runs=earlier_runs.astype(np.int64),
        )
        out.append(PresentationData(str(module), str(pres), ci, outcome))
    return out


def fit_risk_model(
    train: list[tuple[PresentationData, CourseEngagement]], weeks: int, l2: float = RISK_L2
) -> RiskModel:
    """Fit the logistic risk model on already-computed presentations.

    The penalty applies to standardised features; the stored coefficients are
    on the original scale.
    """
    x = np.vstack([features(c) for _, c in train])
    y = np.concatenate([p.outcome for p, _ in train]).astype(float)
    coef, intercept = fit_standardised(x, y, l2=l2)
    provenance = {
        "dataset": "OULAD (Kuzilek et al. 2017, CC BY 4.0)",
        "presentations": sorted(f"{p.module}-{p.presentation}" for p, _ in train),
        "weeks": weeks,
        "students": int(len(y)),
        "positive_rate": round(float(y.mean()), 4),
        "l2": l2,
        "penalty_on": "standardised features",
        "outcome": "final_result in {Withdrawn, Fail}",
        "fitted_with": f"flask engagement fit --oulad <OULAD> --weeks {weeks}",
        "period": f"days -{PRE_START_DAYS}..{7 * weeks - 1} of each presentation",
        "note": (
            "product default; activity features are course-relative "
            "so they transfer to a 30-day window"
        ),
        "features_chosen_by": FEATURES_CHOSEN_BY,
    }
    return RiskModel(coef, intercept, provenance)


def evaluate(path: str | Path, weeks: int, model: RiskModel | None = None) -> dict:
    """Fit on 2013 (unless ``model`` is given), report on 2014; returns the metrics dict."""
    data = load_oulad(path, weeks)
    computed = [(p, compute_course(p.course_input)) for p in data]
    train = [(p, c) for p, c in computed if p.presentation.startswith(TRAIN_YEAR)]
    test = [(p, c) for p, c in computed if p.presentation.startswith(TEST_YEAR)]
    fitted = model is None
    if model is None:
        model = fit_risk_model(train, weeks)

    risk_groups, index_groups = [], []
    per_module: dict[str, list] = {}
    flagged_pos = flagged = positives = 0
    brier_num = 0.0
    count = 0
    for p, c in test:
        r = assess_course(c, model)
        y = p.outcome.astype(bool)
        risk_groups.append((r.probability, y))
        index_groups.append((-c.score, y))
        per_module.setdefault(p.module, []).append((r.probability, y))
        top = max(1, int(round(0.2 * len(y))))
        chosen = np.argsort(-r.probability, kind="stable")[:top]
        flagged += top
        flagged_pos += int(y[chosen].sum())
        positives += int(y.sum())
        brier_num += float(((r.probability - y) ** 2).sum())
        count += len(y)
    return {
        "weeks": weeks,
        "train_presentations": len(train),
        "test_presentations": len(test),
        "test_students": count,
        "test_positive_rate": round(positives / count, 4) if count else None,
        "auc_risk": round(within_course_auc(risk_groups), 4),
        "auc_index": round(within_course_auc(index_groups), 4),
        "precision_top20": round(flagged_pos / flagged, 4) if flagged else None,
        "recall_top20": round(flagged_pos / positives, 4) if positives else None,
        "brier": round(brier_num / count, 4) if count else None,
        "per_module": {m: round(within_course_auc(g), 4) for m, g in sorted(per_module.items())},
        "model": "fitted on 2013" if fitted else "given",
        "coefficients": model.to_dict(),
    }


def cross_validate_train_years(path: str | Path, weeks: int, l2: float = RISK_L2) -> dict:
    """Leave-one-module-out cross-validation inside the 2013 presentations.

    This is what model and feature choices were made on, so that 2014 stays
    untouched until the final report.
    """
    data = load_oulad(path, weeks)
    computed = [
        (p, compute_course(p.course_input)) for p in data if p.presentation.startswith(TRAIN_YEAR)
    ]
    risk_groups, index_groups = [], []
    per_module: dict[str, list] = {}
    for module in sorted({p.module for p, _ in computed}):
        train = [(p, c) for p, c in computed if p.module != module]
        model = fit_risk_model(train, weeks, l2=l2)
        for p, c in computed:
            if p.module != module:
                continue
            r = assess_course(c, model)
            risk_groups.append((r.probability, p.outcome))
            index_groups.append((-c.score, p.outcome))
            per_module.setdefault(module, []).append((r.probability, p.outcome))
    return {
        "weeks": weeks,
        "l2": l2,
        "cv_auc_risk": round(within_course_auc(risk_groups), 4),
        "cv_auc_index": round(within_course_auc(index_groups), 4),
        "cv_per_module": {m: round(within_course_auc(g), 4) for m, g in sorted(per_module.items())},
    }
