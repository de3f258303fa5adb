# Production image: gunicorn serving wsgi:app. Needs DATABASE_URL, REDIS_URL, SECRET_KEY.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MASTERYAI_ENV=production FLASK_APP=wsgi.py
WORKDIR /app

COPY pyproject.toml README.md ./
COPY config ./config
COPY masteryai_lti ./masteryai_lti
COPY migrations ./migrations
COPY wsgi.py ./
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 masteryai \
    && chown -R masteryai /app
USER masteryai

EXPOSE 8000
# Migrations run as a separate step at deploy (`docker run IMAGE flask db upgrade`),
# never at app start.
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "4", "--access-logfile", "-", "wsgi:app"]
