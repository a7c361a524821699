"""Logs, traces and metrics: Powertools logger and tracer (`observability`), the store's job
counters and their Prometheus read model (`metrics`), and CloudWatch embedded-metric lines (`emf`)."""
