"""The pool's Prometheus metrics: owners loaded, loads, evictions, ask latency, encoder
passes."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from publish_broker.pool.registry import BotRegistry

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Asks take ~10-20 ms (the encoder); a cold one adds a model load.
_ASK_BUCKETS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_BATCH_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 32)


class PoolMetrics:
    """A registry of its own per pool (tests run several pools in one process)."""

    def __init__(self, bots: BotRegistry) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_RegistryCollector(bots))
        self.asks = Histogram("faqbot_pool_ask_seconds", "Time to answer one ask",
                              ["outcome"], buckets=_ASK_BUCKETS, registry=self.registry)
        self.encode_batches = Histogram(
            "faqbot_pool_encode_batch_size", "Asks whose questions one encoder pass encoded",
            buckets=_BATCH_BUCKETS, registry=self.registry)
        self.requests = Counter("faqbot_pool_requests", "Requests by route and status",
                                ["route", "status"], registry=self.registry)
        self.memory = Gauge("faqbot_pool_models_bytes", "Estimated bytes of loaded models",
                            registry=self.registry)
        self.memory.set_function(bots.footprint)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)


class _RegistryCollector:
    """Reads the registry's own counters at scrape time (no second bookkeeping)."""

    def __init__(self, bots: BotRegistry) -> None:
        self._bots = bots

    def collect(self):
        stats = self._bots.stats
        yield GaugeMetricFamily("faqbot_pool_owners_loaded", "Owners' models in memory",
                                value=len(self._bots.loaded()))
        yield CounterMetricFamily("faqbot_pool_loads", "Models loaded", value=stats.loads)
        yield CounterMetricFamily("faqbot_pool_load_failures", "Models that could not be read",
                                  value=stats.load_failures)
        yield CounterMetricFamily("faqbot_pool_evictions", "Owners evicted from memory",
                                  value=stats.evictions)
