from rest_framework import serializers

from .models import TrackerIssue


class TrackerIssueSerializer(serializers.ModelSerializer):
    item = serializers.CharField(source="item.reference", read_only=True)
    tracker = serializers.CharField(source="connection.get_kind_display", read_only=True)

    class Meta:
        model = TrackerIssue
        fields = ["item", "tracker", "state", "key", "url", "remote_closed", "last_error", "last_error_at", "synced_at"]
        read_only_fields = fields


class TrackerLinkSerializer(serializers.ModelSerializer):
    """An item's issue as its own representation shows it: the key, the link and the state."""

    # Plain text, not a second enum of the same choices (the schema would name them apart).
    state = serializers.CharField(read_only=True, help_text="pending, linked, failed or gone.")

    class Meta:
        model = TrackerIssue
        fields = ["key", "url", "state"]
        read_only_fields = fields


class TrackerIssueWriteSerializer(serializers.Serializer):
    url = serializers.URLField(
        required=False, allow_blank=True, help_text="An existing issue to link; leave out to create a new issue."
    )
