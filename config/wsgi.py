import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# A web process: its statements get the web statement timeout (config/settings.py).
os.environ.setdefault("TRACKER_PROCESS", "web")

application = get_wsgi_application()

# What the process loaded to get here (Django, the apps, their modules) lives as long as the
# process: move it out of the garbage collector's reach, so a full collection in the middle of
# a request walks only what requests create, not the whole framework.
gc.freeze()
