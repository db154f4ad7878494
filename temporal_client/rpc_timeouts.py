"""Deadlines for the client's calls into Temporal (API and tooling side, never workflow code).

Without one, a call to a stalled cluster waits on gRPC's own long default; with one, the caller
gets a prompt "unavailable" (the API's 503 with Retry-After) and can retry.
"""

from __future__ import annotations

from datetime import timedelta

# An update answers in milliseconds; past this the caller gets a 503 and retries with the same key.
UPDATE_RPC_TIMEOUT = timedelta(seconds=30)
# A read (query, describe, list) answers in milliseconds too.
QUERY_RPC_TIMEOUT = timedelta(seconds=5)
# /readyz must answer well within a probe's own timeout.
READY_CHECK_TIMEOUT = timedelta(seconds=2)
