"""The public service API of promidata_sync (names carried over from the old system).

start_sync(supplier=None, use_queue=True)   startSync(supplierId?, useQueue = true)
get_job_status(queue_name, job_id)          getJobStatus(queueName, jobId)
get_queue_stats(queue_name=None)            getQueueStats(queueName?)
sync_supplier_direct(supplier)              syncSupplierDirect(supplier)
stop_sync(run), retry_failed(run)
"""

from promidata_sync.services.control import (
    UnknownSupplier,
    get_queue_stats,
    retry_failed,
    run_status,
    start_sync,
    stop_sync,
)
from promidata_sync.services.direct import sync_supplier_direct
from promidata_sync.services.jobs import get_job_status

__all__ = [
    "UnknownSupplier",
    "get_job_status",
    "get_queue_stats",
    "retry_failed",
    "run_status",
    "start_sync",
    "stop_sync",
    "sync_supplier_direct",
]
