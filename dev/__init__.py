"""Development-only tooling (test doubles, local demo helpers); never imported by the worker."""
