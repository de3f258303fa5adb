"""A small teacher page listing grade posts that failed to reach the LMS, with Resend.

The page carries no credentials of its own: the LTI landing page opens it with the
launch's session in the URL fragment (never sent to servers or logged), and its
script calls the grade-post API with that bearer token.
"""

from __future__ import annotations

from flask import Blueprint, render_template

grades_pages_bp = Blueprint(
    "lti_grades_pages", __name__, url_prefix="/lti", template_folder="templates"
)


@grades_pages_bp.get("/grade-posts")
def grade_posts_page():
    """``/lti/grade-posts#token=<session token>&course_id=<id>``."""
    page = render_template("lti_grades/grade_posts_page.html")
    return page, 200, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
