"""Flask extensions, created unbound and bound to an app in ``create_app``."""

from __future__ import annotations

from flask_cors import CORS
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from masteryai_lti.core.cache import Cache
from masteryai_lti.core.jobs import JobQueue
from masteryai_lti.core.openapi import ProblemApi

# Named constraints so migrations can drop and alter them on every database
# (SQLite batch mode needs names to find them).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Objects stay readable after commit: services return them to views that serialise
# them, and re-loading every attribute after each commit would cost a query apiece.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
jwt = JWTManager()
cors = CORS()
api = ProblemApi()
cache = Cache()
jobs = JobQueue()
# Storage is chosen in create_app: Redis when configured, memory otherwise; when
# Redis fails the limiter falls back to memory instead of failing requests.
limiter = Limiter(key_func=get_remote_address)
