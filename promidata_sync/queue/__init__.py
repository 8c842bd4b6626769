"""The queue side: the stage registry, dispatch on commit, the actors' runner, job records,
Dramatiq middleware, broker helpers, leases, the reconciler and the worker manager.

Layers point one way: ``tasks`` (the actors) → ``queue`` → ``services`` → ``feed`` and the
models. The steps themselves live in ``promidata_sync.services.steps``.
"""
