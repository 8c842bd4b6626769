"""URL configuration: the admin (with the queue dashboard), the HTTP API
(``promidata_sync.http``: the catalog, sync control, the OpenAPI document and its docs), the
health check, the Prometheus metrics, ``/`` redirecting to the admin, plus media files from local
disk when ``PROMIDATA_SERVE_MEDIA`` is on (by default only with DEBUG)."""

from django.conf import settings
from django.contrib import admin
from django.http import Http404
from django.templatetags.static import static
from django.urls import path, re_path
from django.views.generic import RedirectView
from django.views.static import serve

from promidata_sync.admin.dashboard import dashboard_view
from promidata_sync.admin.queues import queues_view
from promidata_sync.http.api import urlpatterns as api_urlpatterns
from promidata_sync.http.metrics import metrics_view
from promidata_sync.views import healthz

urlpatterns = [
    # The admin is the application's front page; "View site" and favicon requests land here.
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
    path(
        "favicon.ico",
        RedirectView.as_view(url=static("promidata_sync/favicon.svg"), permanent=True),
    ),
    # Before admin/, whose catch-all would answer it otherwise.
    path(
        "admin/promidata_sync/dashboard/",
        admin.site.admin_view(dashboard_view),
        name="promidata_sync_dashboard",
    ),
    path(
        "admin/promidata_sync/queues/",
        admin.site.admin_view(queues_view),
        name="promidata_sync_queues",
    ),
    path("admin/", admin.site.urls),
    *api_urlpatterns(),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
]


def serve_media(request, path: str):
    """Local media files while ``PROMIDATA_SERVE_MEDIA`` is on (read per request); a path the
    file system cannot even look up (too long, a bad byte) is a 404 like any missing file,
    not a 500."""
    if not settings.PROMIDATA_SERVE_MEDIA:
        raise Http404("media are served by the web server or the storage, not by Django")
    try:
        return serve(request, path, document_root=settings.MEDIA_ROOT)
    except (OSError, ValueError):
        raise Http404("no such media file") from None


if settings.STORAGES["default"]["BACKEND"].endswith("FileSystemStorage"):
    # Local media for development (DEBUG). In production nginx serves MEDIA_ROOT, and with
    # S3/R2 the bucket or its CDN serves them: Django's static view is not made for that.
    urlpatterns += [re_path(r"^media/(?P<path>.*)$", serve_media)]

# A request refused before any view (too many fields, a host not in ALLOWED_HOSTS) answers
# JSON under api/ as well.
handler400 = "promidata_sync.http.errors.bad_request"
