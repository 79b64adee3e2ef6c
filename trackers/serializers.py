from rest_framework import serializers

from .models import TrackerIssue


class TrackerIssueSerializer(serializers.ModelSerializer):
    item = serializers.CharField(source="item.reference", read_only=True)
    tracker = serializers.CharField(source="connection.get_kind_display", read_only=True)

    class Meta:
        model = TrackerIssue
        fields = ["item", "tracker", "state", "key", "url", "remote_closed", "last_error", "last_error_at", "synced_at"]
        read_only_fields = fields


class TrackerIssueWriteSerializer(serializers.Serializer):
    url = serializers.URLField(
        required=False, allow_blank=True, help_text="An existing issue to link; leave out to create a new issue."
    )
