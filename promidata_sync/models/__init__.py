"""promidata_sync's tables: what the sync did (``records``), who may use the HTTP API
(``api_keys``) and whom it tells about runs and changes (``webhooks``)."""

from promidata_sync.models.api_keys import ApiKey
from promidata_sync.models.notifications import (
    NOTIFICATION_EVENTS,
    Notification,
    NotificationRule,
)
from promidata_sync.models.queue_control import Pause, QueueAction
from promidata_sync.models.records import (
    FamilyFile,
    ImageSource,
    Job,
    Lease,
    SyncItem,
    SyncRun,
    VariantImage,
    WorkerHeartbeat,
)
from promidata_sync.models.webhooks import WebhookDelivery, WebhookEndpoint

__all__ = [
    "NOTIFICATION_EVENTS",
    "ApiKey",
    "FamilyFile",
    "ImageSource",
    "Job",
    "Lease",
    "Notification",
    "NotificationRule",
    "Pause",
    "QueueAction",
    "SyncItem",
    "SyncRun",
    "VariantImage",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WorkerHeartbeat",
]
