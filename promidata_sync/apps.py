from django.apps import AppConfig


class PromidataSyncConfig(AppConfig):
    name = "promidata_sync"
    verbose_name = "Promidata sync"

    def ready(self) -> None:
        from promidata_sync import checks  # noqa: F401  (registers the storage check)
