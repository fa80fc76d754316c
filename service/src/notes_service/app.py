"""Application factory; use with ``uvicorn --factory notes_service.app:create_app``.

Importing this module touches neither the environment nor the database.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from notes_service import __version__
from notes_service.db import create_db_engine, create_session_factory
from notes_service.proxied import TrustedProxy
from notes_service.queue import Queue
from notes_service.routes import health, notes
from notes_service.settings import Settings
from notes_service.storage import STORAGE_FULL, StorageFull

log = logging.getLogger(__name__)


async def _storage_full(request: Request, exc: Exception) -> JSONResponse:
    """507 Insufficient Storage, in the shape of FastAPI's own errors.

    Expected when the volume fills: one warning line, no traceback.
    """
    log.warning("%s %s answered 507: %s", request.method, request.url.path, exc)
    return JSONResponse({"detail": STORAGE_FULL}, status_code=status.HTTP_507_INSUFFICIENT_STORAGE)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; settings default to ``Settings.from_env()``."""
    settings = Settings.from_env() if settings is None else settings
    engine = create_db_engine(settings.database_url)

    queue = Queue(settings.redis_url) if settings.redis_url else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()
        if queue is not None:
            queue.close()

    app = FastAPI(title="notes-service", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.queue = queue
    app.state.session_factory = create_session_factory(engine)
    app.add_exception_handler(StorageFull, _storage_full)
    app.include_router(health.router)
    app.include_router(notes.router)
    if settings.trusted_proxy is not None:
        app.add_middleware(TrustedProxy, host=settings.trusted_proxy)
    return app
