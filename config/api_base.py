"""The API's shared base: the read/write viewset mixins, their schema and the admin-only write
permission. Each app's ``api.py`` builds its viewsets from these; the throttles are in
``config.api_throttles`` (DRF's settings import them before any view exists).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.response import Response

from accounts.access import is_admin
from config.api_errors import ErrorSerializer


class ReadWriteMixin:
    """Lists and details with the read serializers; writes validated by ``write_serializer_class``,
    carried out by ``perform_create``/``perform_update`` (which call services and return the
    saved object), and answered with the object as a reader fetches it."""

    detail_serializer_class = None
    write_serializer_class = None

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return self.write_serializer_class
        if self.action == "list":
            return self.serializer_class
        return self.detail_serializer_class or self.serializer_class

    def read_response(self, instance, status_code=status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=instance.pk)
        serializer_class = self.detail_serializer_class or self.serializer_class
        return Response(serializer_class(fresh, context=self.get_serializer_context()).data, status=status_code)

    def check_can_update(self, instance) -> None:
        """Raise PermissionDenied when the user may not change ``instance`` (before validating)."""

    def update(self, request, *args, **kwargs):
        instance = self.get_object()
        self.check_can_update(instance)
        serializer = self.get_serializer(instance, data=request.data, partial=kwargs.pop("partial", False))
        serializer.is_valid(raise_exception=True)
        return self.read_response(self.perform_update(serializer))


class ReadWriteCreateMixin(ReadWriteMixin):
    """ReadWriteMixin for viewsets that create too."""

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self.read_response(self.perform_create(serializer), status.HTTP_201_CREATED)


class ReadWriteViewSet(
    ReadWriteCreateMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """A resource read, created, changed and deleted through the API (writes as ReadWriteMixin)."""


DELETE_RESPONSES = {
    204: OpenApiResponse(description="Deleted; the deletion is in the admin's history."),
    403: OpenApiResponse(ErrorSerializer, description="Only admins delete."),
}


def write_schema(write, read, *, create=True, conflict: bool = False, delete: str = ""):
    """extend_schema_view arguments documenting a ReadWriteMixin viewset's writes; ``create``
    is False (no create), True (``write`` creates) or the serializer that creates; ``delete``,
    when given, describes who may delete."""
    responses = {200: read}
    if conflict:
        responses[409] = OpenApiResponse(ErrorSerializer, description="Someone saved a newer version.")
    views = {
        "update": extend_schema(request=write, responses=responses),
        "partial_update": extend_schema(request=write, responses=responses),
    }
    if create:
        views["create"] = extend_schema(request=write if create is True else create, responses={201: read})
    if delete:
        views["destroy"] = extend_schema(description=delete, responses=DELETE_RESPONSES)
    return views


class AdminWritesOrReadOnly(permissions.BasePermission):
    """Anyone signed in reads; only admins (``accounts.access.is_admin``) write."""

    message = "Only admins change teams, services and the taxonomies."

    def has_permission(self, request, view) -> bool:
        return request.method in permissions.SAFE_METHODS or is_admin(request.user)
