"""The HTTP gateway the marketplace backend (any UI) drives Sessionflow through."""
