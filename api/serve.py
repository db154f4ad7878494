"""Serve an app with uvicorn on the configured host and port (the API and the codec server)."""

from __future__ import annotations

from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from observability.logging import configure_logging
from settings import Settings


def serve(create: Callable[[Settings], FastAPI]) -> None:
    settings = Settings()
    configure_logging(settings)
    # log_config=None: uvicorn's records go through the structlog formatter configured above.
    uvicorn.run(
        create(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level="info",
        log_config=None,
    )
