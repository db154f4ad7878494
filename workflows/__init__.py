"""Workflow code only: ``SessionWorkflow`` (one per booked session), ``PracticeWorkflow`` (one per
therapist) and the activity options they run with. Starting and addressing them is
``temporal_client``'s job, by the names in ``contract``."""
