"""URLs of the JSON API, included by ``config/urls.py`` under ``api/``.

Slashes at the end are optional: scripts get the same answer with or without one.
"""

from django.urls import re_path

from promidata_sync import views

app_name = "promidata_sync"

urlpatterns = [
    re_path(r"^sync/?$", views.sync_start, name="sync"),
    re_path(r"^runs/(?P<run_id>[^/]+)/?$", views.run_detail, name="run"),
    re_path(r"^jobs/(?P<queue_name>[^/]+)/(?P<job_id>[^/]+)/?$", views.job_detail, name="job"),
    re_path(r"^queues/?$", views.queue_stats, name="queues"),
    re_path(r"^queues/(?P<queue_name>[^/]+)/?$", views.queue_stats, name="queue"),
    re_path(r"^(?P<path>.*)$", views.not_found),
]
