"""Temporal workflows: one ``SessionWorkflow`` per booked session."""
