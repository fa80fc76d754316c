"""The notes resource."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import select

from notes_service.dependencies import QueueDep, SessionDep
from notes_service.models import Note
from notes_service.schemas import NoteCreate, NoteOut

router = APIRouter(prefix="/notes", tags=["notes"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_note(body: NoteCreate, session: SessionDep, queue: QueueDep) -> NoteOut:
    note = Note(text=body.text)
    session.add(note)
    session.commit()  # durable before the 201 goes out
    if queue is not None:
        queue.announce(note.id)  # the worker starts on it now
    return NoteOut.model_validate(note)


@router.get("/{note_id}")
def get_note(note_id: int, session: SessionDep) -> NoteOut:
    note = session.get(Note, note_id)
    if note is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"note {note_id} not found")
    return NoteOut.model_validate(note)


@router.get("")
def list_notes(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[NoteOut]:
    notes = session.scalars(select(Note).order_by(Note.id).limit(limit))
    return [NoteOut.model_validate(note) for note in notes]
