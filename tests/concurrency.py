"""Two requests interleaved at a chosen point, for the PostgreSQL tests of concurrent writers.

The first request is held right after a check it makes (a function of the service
module, patched for the test) while the second runs; a missing lock shows as both
passing their checks.
"""

from __future__ import annotations

import threading

# How long the first request, held after its check, lets the second run. Without a lock
# the second finishes well inside it; with one the second waits for the first.
HEAD_START_S = 2.0


def first_held_then_second(app, monkeypatch, module, name: str, first, second) -> tuple:
    """Run ``first`` until it has returned from ``module.name`` (its check), then ``second``
    to its end (or until it blocks), then let ``first`` finish.

    ``first`` and ``second`` take a test client and return its response; returns both.
    """
    checked, second_done = threading.Event(), threading.Event()
    check = getattr(module, name)

    def held_after_the_check(*args, **kwargs):
        result = check(*args, **kwargs)
        if threading.current_thread().name == "first" and not checked.is_set():
            checked.set()
            second_done.wait(HEAD_START_S)
        return result

    monkeypatch.setattr(module, name, held_after_the_check)
    answers = {}

    def run(which, request):
        answers[which] = request(app.test_client())
        if which == "second":
            second_done.set()

    one = threading.Thread(target=run, args=("first", first), name="first")
    one.start()
    assert checked.wait(30)
    two = threading.Thread(target=run, args=("second", second), name="second")
    two.start()
    one.join(60)
    two.join(60)
    return answers["first"], answers["second"]
