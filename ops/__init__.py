"""The ``sessionflow`` operations CLI."""
