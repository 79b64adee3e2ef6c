from django.apps import AppConfig, apps
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save


class PostmortemsConfig(AppConfig):
    name = "postmortems"
    verbose_name = "Postmortems"

    def ready(self) -> None:
        self.connect_search_index()
        self.connect_synonyms()

    def connect_synonyms(self) -> None:
        """The search reads the synonym groups from the cache: a saved or deleted group drops them."""
        from . import synonyms
        from .models import SearchSynonym

        for signal, name in ((post_save, "save"), (post_delete, "delete")):
            signal.connect(synonyms.forget, sender=SearchSynonym, dispatch_uid=f"postmortems.synonyms.{name}")

    def connect_search_index(self) -> None:
        """Search-index upkeep, the one side effect our style allows in signals: a change to
        any text the archive searches reindexes its postmortem after commit.

        The editor's conditional ``UPDATE``s send no ``post_save``; the ``PostmortemEvent``
        each workflow step records stands in for them. Team membership is applied at query
        time, so it needs no reindexing; the status and visibility the document copies are
        updated in the change's own transaction (``internal_sections`` is a field: saved).
        """
        from actions.models import ActionItem
        from incidents.models import Incident, TimelineEvent

        from . import search_index as receivers
        from .models import Postmortem, PostmortemEvent

        uid = "postmortems.search_index"
        post_save.connect(receivers.postmortem_saved, sender=Postmortem, dispatch_uid=f"{uid}.pm.save")
        post_delete.connect(receivers.postmortem_deleted, sender=Postmortem, dispatch_uid=f"{uid}.pm.delete")
        post_save.connect(receivers.workflow_step, sender=PostmortemEvent, dispatch_uid=f"{uid}.event")
        for signal, name in ((post_save, "save"), (post_delete, "delete")):
            signal.connect(receivers.part_changed, sender=ActionItem, dispatch_uid=f"{uid}.action.{name}")
            signal.connect(receivers.incident_part_changed, sender=TimelineEvent, dispatch_uid=f"{uid}.tl.{name}")
        post_save.connect(receivers.incident_changed, sender=Incident, dispatch_uid=f"{uid}.incident")
        m2m_changed.connect(receivers.incident_tags_changed, sender=Incident.tags.through, dispatch_uid=f"{uid}.tags")
        for label in map(apps.get_model, receivers.LABELS):  # renamed or deleted names the documents carry
            name = f"{uid}.{label._meta.model_name}"
            pre_save.connect(receivers.label_saving, sender=label, dispatch_uid=f"{name}.pre_save")
            post_save.connect(receivers.label_saved, sender=label, dispatch_uid=f"{name}.save")
            pre_delete.connect(receivers.label_deleting, sender=label, dispatch_uid=f"{name}.delete")
