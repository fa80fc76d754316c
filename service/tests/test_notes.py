from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient


def test_create_then_get_roundtrips(client: TestClient) -> None:
    created = client.post("/notes", json={"text": "hello, world"})
    assert created.status_code == 201
    body = created.json()
    assert body["text"] == "hello, world"
    assert isinstance(body["id"], int)
    assert datetime.fromisoformat(body["created_at"]).utcoffset() is not None

    fetched = client.get(f"/notes/{body['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == body


def test_unknown_id_is_404(client: TestClient) -> None:
    response = client.get("/notes/424242")
    assert response.status_code == 404
    assert response.json() == {"detail": "note 424242 not found"}


def test_list_returns_notes_in_id_order(client: TestClient) -> None:
    ids = [client.post("/notes", json={"text": f"note {i}"}).json()["id"] for i in range(3)]
    response = client.get("/notes")
    assert response.status_code == 200
    assert [note["id"] for note in response.json()] == sorted(ids)
    assert [note["text"] for note in response.json()] == ["note 0", "note 1", "note 2"]


def test_list_honours_limit(client: TestClient) -> None:
    for i in range(3):
        client.post("/notes", json={"text": f"note {i}"})
    assert len(client.get("/notes", params={"limit": 2}).json()) == 2
    assert client.get("/notes", params={"limit": 1001}).status_code == 422


def test_empty_text_is_422(client: TestClient) -> None:
    assert client.post("/notes", json={"text": ""}).status_code == 422


def test_too_long_text_is_422(client: TestClient) -> None:
    assert client.post("/notes", json={"text": "x" * 10_001}).status_code == 422


def test_missing_body_is_422(client: TestClient) -> None:
    assert client.post("/notes").status_code == 422
