"""Admin of promidata_sync: sync runs (``runs``), the kept family files (``family_files``),
the queue dashboard (``dashboard``), the actions that operate syncs (``actions``), also
used by the supplier admin in ``catalog``, API keys (``api_keys``), and webhook endpoints and
deliveries (``webhooks``), notification rules and messages (``notifications``), and the job
records (``jobs``, which also removes Django Dramatiq's always-empty Tasks admin).

Starting, stopping and retrying need the permission ``promidata_sync.operate_sync``
(``permissions``); looking needs the usual view permissions.
"""

from django.contrib import admin

from promidata_sync.admin import (  # noqa: F401  (register the admins)
    api_keys,
    family_files,
    jobs,
    notifications,
    runs,
    webhooks,
)

# The product's name, not "Django administration"; "View site" opens the API's documentation
# (the only other page a person reads; "/" itself leads back to the admin).
admin.site.site_header = admin.site.site_title = "promidata-sync"
admin.site.index_title = "Catalog and sync"
admin.site.site_url = "/api/docs"
