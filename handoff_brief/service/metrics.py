"""The service's Prometheus metrics, in a registry of their own (one per app)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]

disable_created_metrics()  # `*_created` series: a timestamp per label set, noise here


class Metrics:
    def __init__(self, queue_depth: Callable[[], float],
                 workers_replaced: Callable[[], float]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("handoff_brief_requests", "HTTP requests by route and status",
                                ["route", "method", "status"], registry=self.registry)
        self.briefs = Counter("handoff_brief_briefs_rendered", "Briefs rendered, by format "
                              "and by way (request or job)", ["format", "way"],
                              registry=self.registry)
        self.render_seconds = Histogram(
            "handoff_brief_render_seconds", "Seconds from a render request reaching a worker "
            "to its answer", ["format"], registry=self.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60))
        depth = Gauge("handoff_brief_queue_depth", "Renders waiting for a worker",
                      registry=self.registry)
        depth.set_function(queue_depth)
        replaced = Gauge("handoff_brief_workers_replaced", "Worker processes replaced after "
                         "overrunning a deadline or dying", registry=self.registry)
        replaced.set_function(workers_replaced)

    def text(self) -> bytes:
        return generate_latest(self.registry)
