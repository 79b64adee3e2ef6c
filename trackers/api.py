"""``/api/v1/action-items/<reference>/tracker/``: read an item's issue; create or link one."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from actions import selectors

from . import services
from .models import TrackerIssue
from .serializers import TrackerIssueSerializer, TrackerIssueWriteSerializer


class ActionItemTrackerView(APIView):
    """The item's GitHub or Jira issue. POST without ``url`` creates it (in the background:
    the answer is 202 and ``state`` says "pending" until the tracker answered); POST with
    ``url`` links an issue that exists. Credentials never appear here."""

    @extend_schema(responses=TrackerIssueSerializer)
    def get(self, request, reference: str):
        item = selectors.action_item_detail(request.user, reference)
        issue = TrackerIssue.objects.select_related("connection", "item").filter(item=item).first()
        if issue is None:
            raise exceptions.NotFound(f"{item.reference} has no tracker issue.")
        return Response(TrackerIssueSerializer(issue).data)

    @extend_schema(request=TrackerIssueWriteSerializer, responses=TrackerIssueSerializer)
    def post(self, request, reference: str):
        item = selectors.action_item_detail(request.user, reference)
        data = TrackerIssueWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        url = data.validated_data.get("url", "")
        try:
            if url:
                issue = services.tracker_issue_link(item=item, user=request.user, url=url)
            else:
                issue = services.tracker_issue_request(item=item, user=request.user)
        except ValidationError as error:
            raise exceptions.ValidationError(
                error.message_dict if hasattr(error, "error_dict") else error.messages
            ) from error
        issue.refresh_from_db()
        code = status.HTTP_200_OK if issue.state == TrackerIssue.State.LINKED else status.HTTP_202_ACCEPTED
        return Response(TrackerIssueSerializer(issue).data, status=code)
