"""Bounded concurrency for I/O work whose results are consumed by one thread."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def bounded_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    concurrency: int,
    should_stop: Callable[[], bool] = lambda: False,
) -> Iterator[tuple[T, R | None, BaseException | None]]:
    """Run ``fn`` over ``items`` in ``concurrency`` threads; yield ``(item, result, error)``
    in completion order.

    At most ``2 * concurrency`` calls are in flight, so results never pile up in memory (a
    family JSON can be close to a megabyte). When ``should_stop()`` turns true, no new call is
    started; calls already running finish and are yielded.
    """
    window = max(1, concurrency) * 2
    source = iter(items)
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        pending: dict[Future, T] = {}

        def fill() -> None:
            while len(pending) < window and not should_stop():
                try:
                    item = next(source)
                except StopIteration:
                    return
                pending[pool.submit(fn, item)] = item

        fill()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                item = pending.pop(future)
                error = future.exception()
                yield item, (None if error else future.result()), error
            fill()
