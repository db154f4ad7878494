"""``python -m api``: serve the API with uvicorn on the configured host and port."""

from __future__ import annotations

import uvicorn

from api.app import create_app
from observability.logging import configure_logging
from settings import Settings


def main() -> None:
    settings = Settings()
    configure_logging(settings)
    # log_config=None: uvicorn's records go through the structlog formatter configured above.
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level="info",
        log_config=None,
    )


if __name__ == "__main__":
    main()
