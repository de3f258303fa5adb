"""WSGI entry point: ``gunicorn wsgi:app``."""

from masteryai_lti import create_app

app = create_app()
