from django.apps import AppConfig


class PromidataSyncConfig(AppConfig):
    name = "promidata_sync"
    verbose_name = "Promidata sync"
