"""Password hashing: an unknown account costs as much bcrypt work as a known one."""

from __future__ import annotations

import bcrypt
import pytest
from flask import Flask

from masteryai_lti.core import security


def _cost(password_hash: str) -> int:
    # bcrypt's modular crypt format: $2b$<cost>$<salt and hash>
    return int(password_hash.split("$")[2])


@pytest.mark.parametrize("rounds", [5, 12])
def test_the_dummy_hash_has_the_cost_of_real_hashes(rounds):
    app = Flask(__name__)
    app.config["BCRYPT_ROUNDS"] = rounds
    with app.app_context():
        real = security.hash_password("correct-horse-battery")
        dummy = security.dummy_password_hash()
    assert _cost(real) == rounds
    assert _cost(dummy) == _cost(real)
    assert bcrypt.checkpw(b"anything", dummy.encode()) is False


def test_verifying_without_a_hash_never_matches():
    app = Flask(__name__)
    app.config["BCRYPT_ROUNDS"] = 4
    with app.app_context():
        assert security.verify_password("not-a-password", None) is False
        assert security.verify_password("", None) is False
        real = security.hash_password("correct-horse-battery")
        assert security.verify_password("correct-horse-battery", real) is True
        assert security.verify_password("wrong", real) is False
