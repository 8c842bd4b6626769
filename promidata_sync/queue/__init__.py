"""The queue side: Dramatiq middleware, broker helpers, the worker manager's plumbing.

Stage logic lives in ``promidata_sync.services.stages``; actors in ``promidata_sync.tasks``.
"""
