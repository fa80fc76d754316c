"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from notes_service.queue import Queue
from notes_service.settings import Settings
from notes_service.storage import StorageFull, full_disk_error


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_queue(request: Request) -> Queue | None:
    queue: Queue | None = request.app.state.queue
    return queue


def get_session(request: Request) -> Iterator[Session]:
    """A session per request; a database error rolls back all it wrote.

    A disk-full error becomes StorageFull (answered 507 by the app); any
    other error goes on as it was (a 500).
    """
    factory: sessionmaker[Session] = request.app.state.session_factory
    with factory() as session:
        try:
            yield session
        except (SQLAlchemyError, OSError) as exc:
            # Nothing the failed request wrote may reach a later commit.
            session.rollback()
            full = full_disk_error(exc)
            if full is None:
                raise
            raise StorageFull(" ".join(str(full).split()) or type(full).__name__) from exc


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SessionDep = Annotated[Session, Depends(get_session)]
QueueDep = Annotated[Queue | None, Depends(get_queue)]
