"""Embedded dashboards: the views a teacher or student sees inside the LMS after a launch.

The pages are served with the launch (the LTI session travels in the page, see
``lti/session_script.html``); their scripts read the same ``/api/v1`` the standalone
clients use, so a dashboard shows nothing the person could not ask the API for.
"""
