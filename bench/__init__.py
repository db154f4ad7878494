"""Measurements: Temporal Actions per path and (later) throughput against the engine's baseline."""
