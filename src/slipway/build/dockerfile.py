"""Reading a Dockerfile without building it: the images its build starts from."""

from __future__ import annotations

from collections.abc import Iterator

from slipway.config.dotenv import substitute

_NO_IMAGE = "scratch"


def instructions(text: str) -> Iterator[tuple[str, list[str]]]:
    """Each instruction as (KEYWORD, words), continuation lines joined and
    comments dropped (also those between continued lines, as BuildKit does)."""
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        words = (pending + line).split()
        pending = ""
        if words:
            yield words[0].upper(), words[1:]
    if pending.split():
        words = pending.split()
        yield words[0].upper(), words[1:]


def base_images(text: str) -> list[str]:
    """The images a build pulls from: every ``FROM`` and ``COPY --from=`` that
    names an image rather than an earlier stage, with the global ``ARG``
    defaults substituted. References that stay unresolved (an ``ARG`` without
    a default) are left out: only a build argument could name them."""
    args: dict[str, str] = {}
    stages: set[str] = set()
    found: list[str] = []
    in_stages = False

    def add(ref: str) -> None:
        image = substitute(ref, args)
        if image and image.lower() not in stages and image != _NO_IMAGE and image not in found:
            found.append(image)

    for keyword, words in instructions(text):
        if keyword == "ARG" and not in_stages:
            # Only ARGs before the first FROM may be used in FROM lines.
            for word in words:
                name, eq, default = word.partition("=")
                if eq:
                    args[name] = default.strip("\"'")
        elif keyword == "FROM":
            in_stages = True
            refs = [w for w in words if not w.startswith("--")]
            if not refs:
                continue
            add(refs[0])
            if len(refs) >= 3 and refs[1].lower() == "as":
                stages.add(refs[2].lower())
        elif keyword in {"COPY", "ADD"}:
            for word in words:
                source = word.removeprefix("--from=")
                # A number is a stage index: an earlier stage, not an image.
                if source != word and not source.isdigit():
                    add(source)
    return found
