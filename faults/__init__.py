"""The fault-injection suite: ``python -m faults`` (``make faults``).

It runs many session lifecycles against a real stack — the Temporal dev server on a SQLite file,
the worker and two API replicas as processes, the Stripe stand-in, a notification sink — while it
kills the worker, restarts the server, makes Stripe fail and the notification endpoint go away,
and delivers Stripe webhooks twice and out of order. Afterwards it checks, from Stripe's side and
from Temporal's, that every session ended as the rules demand. See ``faults/README.md``.
"""
