import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# A web process: its statements get the web statement timeout (config/settings.py).
os.environ.setdefault("TRACKER_PROCESS", "web")

application = get_asgi_application()
