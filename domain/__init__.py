"""Pure rules of a booked session: models, the cancellation/charge policy, status vocabulary.

Nothing here imports Temporal, Stripe or a web framework (a unit test guards it), and nothing
reads the clock: every rule that depends on time takes ``now`` as an argument.
"""
