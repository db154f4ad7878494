"""Logs and metrics shared by the worker and the API (structlog, Prometheus)."""
