from django.apps import AppConfig
from django.db.models.signals import post_save


class TrackersConfig(AppConfig):
    name = "trackers"
    verbose_name = "Issue trackers"

    def ready(self) -> None:
        from postmortems.models import PostmortemEvent

        post_save.connect(postmortem_event_saved, sender=PostmortemEvent, dispatch_uid="trackers.on_publish")


def postmortem_event_saved(sender, instance, created: bool, **kwargs) -> None:
    """On publish, claim the issues of teams that create them on publish (postmortems/services.py
    records a PUBLISHED event inside the publish transaction). The tracker is called only by
    tasks after commit, and a failure here never stops the publication."""
    from django.db import DatabaseError, transaction

    from . import services

    if not created or instance.kind != sender.Kind.PUBLISHED:
        return
    try:
        with transaction.atomic():
            services.claim_on_publish(instance.postmortem, instance.actor)
    except DatabaseError:
        import logging

        logging.getLogger(__name__).exception(
            "Could not claim tracker issues for postmortem %s", instance.postmortem_id
        )
