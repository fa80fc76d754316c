"""Liveness (/health) and readiness (/ready) probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from notes_service.dependencies import EngineDep, SettingsDep
from notes_service.readiness import check_readiness

router = APIRouter(tags=["probes"])


@router.get("/health")
def health(settings: SettingsDep) -> JSONResponse:
    """Liveness: no I/O. NOTES_FORCE_UNHEALTHY simulates a broken release."""
    if settings.force_unhealthy:
        return JSONResponse({"status": "unhealthy"}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/ready")
def ready(settings: SettingsDep, engine: EngineDep) -> JSONResponse:
    """Readiness: the database answers, its schema is at head, its volume has room."""
    if settings.force_unhealthy:
        return JSONResponse(
            {"status": "not ready", "reason": "forced unhealthy (NOTES_FORCE_UNHEALTHY)"},
            status_code=503,
        )
    result = check_readiness(engine, min_free_bytes=settings.min_free_bytes)
    if not result.ready:
        return JSONResponse({"status": "not ready", "reason": result.reason}, status_code=503)
    return JSONResponse({"status": "ready", "revision": result.revision})
