from django.apps import AppConfig


class PromidataSyncConfig(AppConfig):
    name = "promidata_sync"
    verbose_name = "Promidata sync"

    def ready(self) -> None:
        from promidata_sync import (
            checks,  # noqa: F401  (registers the storage check)
            tasks,  # noqa: F401  (declares the actors on the broker)
        )
        from promidata_sync.queue.dispatch import send_deliveries
        from promidata_sync.services import webhooks

        webhooks.use_queue_sender(send_deliveries)
