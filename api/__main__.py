"""``python -m api``: serve the API with uvicorn on the configured host and port."""

from __future__ import annotations

from api.app import create_app
from api.serve import serve


def main() -> None:
    serve(create_app)


if __name__ == "__main__":
    main()
