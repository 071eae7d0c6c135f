"""The HTTP process: Starlette app, routes, health, metrics and ``subbuzz serve``."""
