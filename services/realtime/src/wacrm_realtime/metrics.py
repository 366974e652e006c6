"""Prometheus metrics of the realtime hub (served by the shared /metrics endpoint)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

CONNECTED = Gauge("realtime_connected_clients", "Socket.IO clients connected to this node")
RELAYED = Counter("realtime_events_relayed_total", "rt:events entries emitted to rooms", ["name"])
REPLAYED = Counter(
    "realtime_events_replayed_total", "Missed entries re-sent to a reconnecting client"
)
SKIPPED = Counter("realtime_entries_skipped_total", "rt:events entries that could not be relayed")
RELAY_ERRORS = Counter(
    "realtime_relay_errors_total", "Failed reads of rt:events (the relay retries with backoff)"
)
