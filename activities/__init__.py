"""Temporal activities: the only code that talks to Stripe and the outside world."""
