from django.conf import settings
from django.db import models

from incidents.models import Team, TimeStampedModel


class OidcIdentity(TimeStampedModel):
    """The provider's subject an account signs in as. Once linked, the subject (not the email
    address, which the provider may let a person change) finds the account."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_identities")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255, help_text="The provider's 'sub' claim for this person.")

    class Meta:
        verbose_name = "provider identity"
        verbose_name_plural = "provider identities"
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="oidc_identity_unique_subject")]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"


class GroupMapping(TimeStampedModel):
    """A provider group whose members belong to a team. A team named here has its membership
    synced at each sign-in; teams named nowhere are left to be edited by hand."""

    group = models.CharField(
        max_length=255, help_text="The group's name exactly as the provider's groups claim has it."
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="group_mappings")

    class Meta:
        ordering = ["group", "team__name"]
        verbose_name = "group → team mapping"
        constraints = [models.UniqueConstraint(fields=["group", "team"], name="group_mapping_unique")]

    def __str__(self) -> str:
        return f"{self.group} → {self.team}"


class KeptLead(TimeStampedModel):
    """A team lead whose groups no longer include the team: a sync never removes a lead, so the
    membership was kept and this row reports it until the groups or the lead change."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["-updated_at"]
        verbose_name = "lead kept despite groups"
        verbose_name_plural = "leads kept despite groups"
        constraints = [models.UniqueConstraint(fields=["user", "team"], name="kept_lead_unique")]

    def __str__(self) -> str:
        return f"{self.user} still in {self.team}"
