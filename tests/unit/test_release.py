"""slipway.build.release: the source revision, the immutable tag and the OCI labels of a build."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from slipway.build import release
from slipway.build.images import BuiltImage
from slipway.build.release import Source

REVISION = "abcdef0123456789abcdef0123456789abcdef01"
COMMITTED = "2026-01-02T03:04:05+00:00"
CLEAN = Source(REVISION, False, COMMITTED, "https://example.com/notes.git")


@pytest.fixture
def image() -> BuiltImage:
    return BuiltImage("slipway/notes:prod", "sha256:0123456789abcdef0123", 1, "10001", True)


# --- tag_of -------------------------------------------------------------------------


def _engine(named: dict[str, str], docker_error: Any) -> Any:
    """A client whose `image inspect` knows ``named`` (tag: image id) and no other tag."""

    def inspect(ref: str) -> Any:
        if ref not in named:
            raise docker_error(f"Error response from daemon: No such image: {ref}")
        return SimpleNamespace(id=named[ref])

    return SimpleNamespace(image=SimpleNamespace(inspect=inspect))


def test_a_tag_that_names_another_build_of_the_commit_is_never_moved(
    image: BuiltImage, docker_error: Any
) -> None:
    ref = "slipway/notes:abcdef012345"
    said: list[str] = []
    docker = _engine({ref: "sha256:feedfacefeedface"}, docker_error)

    assert release._unmoved(docker, image, ref, said.append) == f"{ref}-0123456789ab"
    assert said == [
        f"{ref} already names another build of this commit (feedfacefeed): this one differs, "
        f"and is {ref}-0123456789ab"
    ]


def test_a_tag_that_is_free_or_names_this_very_image_is_kept(
    image: BuiltImage, docker_error: Any
) -> None:
    ref = "slipway/notes:abcdef012345"
    said: list[str] = []

    assert release._unmoved(_engine({}, docker_error), image, ref, said.append) == ref
    assert release._unmoved(_engine({ref: image.id}, docker_error), image, ref, said.append) == ref
    assert said == []


def test_clean_tree_is_tagged_with_its_commit(image: BuiltImage) -> None:
    assert release.tag_of(image, CLEAN, "slipway/notes") == "slipway/notes:abcdef012345"


def test_dirty_tree_tag_adds_the_image_content(image: BuiltImage) -> None:
    dirty = Source(REVISION, True, COMMITTED, "")

    tag = release.tag_of(image, dirty, "slipway/notes")

    assert tag == "slipway/notes:abcdef012345-dirty-0123456789ab"


def test_tree_outside_git_is_tagged_by_content_only(image: BuiltImage) -> None:
    nogit = Source("unknown", True, "1970-01-01T00:00:00Z", "")

    assert release.tag_of(image, nogit, "slipway/notes") == "slipway/notes:nogit-0123456789ab"


# --- labels -------------------------------------------------------------------------


def test_labels_are_the_oci_annotations_of_the_source() -> None:
    labels = release.labels(CLEAN, "slipway")

    assert labels == {
        "org.opencontainers.image.revision": REVISION,
        "org.opencontainers.image.created": COMMITTED,
        "org.opencontainers.image.version": "abcdef012345",
        "org.opencontainers.image.source": "https://example.com/notes.git",
        "org.opencontainers.image.title": "slipway",
    }


def test_labels_of_a_dirty_tree_without_remote() -> None:
    labels = release.labels(Source(REVISION, True, COMMITTED, ""), "slipway")

    assert labels["org.opencontainers.image.version"] == "abcdef012345-dirty"
    assert labels["org.opencontainers.image.source"] == "slipway"
    # The commit's time, not the build's: an unchanged tree rebuilds identically.
    assert labels["org.opencontainers.image.created"] == COMMITTED


# --- source, on a real git repository -----------------------------------------------


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


@pytest.fixture(autouse=True)
def _no_git_above(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """git does not look above tmp_path, nor read the user's configuration."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    monkeypatch.setenv("GIT_COMMITTER_DATE", COMMITTED)
    monkeypatch.setenv("GIT_AUTHOR_DATE", COMMITTED)
    _git(root, "init", "--quiet")
    (root / "app.py").write_text("print('v1')\n")
    _git(root, "add", "app.py")
    _git(root, "commit", "--quiet", "-m", "v1")
    return root


def test_source_of_a_clean_checkout(repo: Path) -> None:
    src = release.source(repo)

    assert len(src.revision) == 40
    assert src.dirty is False
    assert src.committed == COMMITTED
    assert src.remote == ""
    assert src.version() == src.revision[:12]


def test_source_is_dirty_after_an_edit(repo: Path) -> None:
    clean = release.source(repo)
    (repo / "app.py").write_text("print('v2')\n")

    src = release.source(repo)

    assert src.revision == clean.revision
    assert src.dirty is True
    assert src.version() == f"{clean.revision[:12]}-dirty"


def test_source_is_dirty_with_an_untracked_file(repo: Path) -> None:
    (repo / "new.py").write_text("")

    assert release.source(repo).dirty is True


def test_source_names_the_origin_remote(repo: Path) -> None:
    _git(repo, "remote", "add", "origin", "https://example.com/notes.git")

    assert release.source(repo).remote == "https://example.com/notes.git"


def test_source_never_keeps_a_token_of_the_origin_remote(repo: Path) -> None:
    _git(repo, "remote", "add", "origin", "https://bot:TOKEN@example.test/org/leak.git")

    src = release.source(repo)

    assert src.remote == "https://example.test/org/leak.git"
    assert "TOKEN" not in str(release.labels(src, "leak"))


@pytest.mark.parametrize(
    ("url", "public"),
    [
        ("https://bot:TOKEN@example.test/org/x.git", "https://example.test/org/x.git"),
        ("https://TOKEN@example.test/org/x.git", "https://example.test/org/x.git"),
        (
            "https://example.test:8443/org/x.git?private_token=T",
            "https://example.test:8443/org/x.git",
        ),
        ("ssh://git:pw@example.test/org/x.git", "ssh://example.test/org/x.git"),
        ("git@example.test:org/x.git", "example.test:org/x.git"),
        ("https://example.test/org/x.git", "https://example.test/org/x.git"),
        ("", ""),
    ],
)
def test_public_url_drops_every_credential(url: str, public: str) -> None:
    assert release.public_url(url) == public


def test_source_outside_git_is_unknown(tmp_path: Path) -> None:
    src = release.source(tmp_path)

    assert src == Source("unknown", True, "1970-01-01T00:00:00Z", "")
