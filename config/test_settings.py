"""Settings for the test suite: the real settings, with a fixed key and fast hashing.

DATABASE_URL and CELERY_BROKER_URL still come from the environment, so the same
suite runs on SQLite and on PostgreSQL with Redis.
"""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")

from config.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# On SQLite, tests use a database file of this run's own (not pytest-django's in-memory
# default), so a Celery worker started as a subprocess by a test can open it too.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}  # noqa: F405

# Each test process counts rate limits in its own memory (tests/conftest.py empties it per test).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The API's throttles stay out of the suite's way (a Schemathesis run sends thousands of requests
# with one token); tests/api/test_throttling.py lowers a rate to see the 429.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"api-user": "100000/min", "api-anon": "100000/min", "api-webhook": "100000/min"},
}
