"""Logs, traces and metrics: Powertools logger and tracer, the Prometheus read model of the
store's counters, and CloudWatch embedded-metric lines."""
