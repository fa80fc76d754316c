"""Raw argv: where python-on-whales 0.81 has no method for what slipway needs,
a function here runs the docker CLI's own argv and its docstring names the
gap: :func:`image_history`, :func:`compose_watch`,
:func:`compose_config_hashes`, :func:`feed` (stdin), :func:`stream` (output
as it comes), for the commands :func:`compose_run_argv` and
:func:`compose_exec_argv` build."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from queue import Queue
from typing import Any

from python_on_whales import DockerClient
from python_on_whales.utils import get_docker_exception_type, reader
from python_on_whales.utils import run as _run
from python_on_whales.utils import stream_stdout_and_stderr as _stream

from slipway.engine.errors import docker_errors


def image_history(docker: DockerClient, ref: str) -> list[dict[str, Any]]:
    """`docker image history`'s rows for ``ref``, newest layer first, as the CLI
    writes them: ``Size`` in bytes (a string), ``CreatedBy`` untruncated.

    python-on-whales 0.81's ``image.history()`` raises NotImplementedError.
    """
    with docker_errors(f"docker image history {ref}"):
        out = _run(
            [
                *docker.docker_cmd,
                "image",
                "history",
                "--no-trunc",
                "--human=false",
                "--format",
                "{{json .}}",
                ref,
            ],
            return_stderr=False,
        )
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def inspect_tasks(docker: DockerClient, ids: Sequence[str]) -> list[dict[str, Any]]:
    """`docker inspect --type task ID...`, every task in one call:
    python-on-whales 0.81 inspects a task at a time (a call each, dozens per
    look at a stack that has a history). NotFound when one of them is gone."""
    if not ids:
        return []
    with docker_errors("docker inspect --type task"):
        out = _run([*docker.docker_cmd, "inspect", "--type", "task", *ids], return_stderr=False)
    found: list[dict[str, Any]] = json.loads(str(out) or "[]")
    return found


def compose_watch(docker: DockerClient) -> Iterator[str]:
    """The lines `docker compose watch --no-up` prints, as they come, until it
    stops; EngineError when it exits non-zero (130 when it got the Ctrl-C).

    python-on-whales 0.81 has no ``compose.watch``.
    """
    with docker_errors("docker compose watch"):
        for _source, raw in _stopping([*docker.docker_compose_cmd, "watch", "--no-up"]):
            yield raw.decode(errors="replace").rstrip("\n")


def _stopping(argv: list[str]) -> Iterator[tuple[str, bytes]]:
    """python-on-whales' ``stream_stdout_and_stderr``, except that a command
    whose reader stops early is stopped as Ctrl-C in a terminal would stop it
    (SIGINT; SIGKILL after 10 s): slipway got a Ctrl-C the command did not
    (``kill -INT`` of slipway alone). python-on-whales leaves it running."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: Queue[tuple[str, bytes] | None] = Queue()
    for pipe, name in ((process.stdout, "stdout"), (process.stderr, "stderr")):
        threading.Thread(target=reader, args=[pipe, name, lines], daemon=True).start()
    stderr, read = b"", False
    try:
        for _ in range(2):  # each reader ends with a None
            for source, line in iter(lines.get, None):
                yield source, line
                stderr += line if source == "stderr" else b""
        read = True
    finally:
        if not read and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    code = process.wait()
    if code != 0:
        raise get_docker_exception_type(stderr)(
            command_launched=argv, return_code=code, stderr=stderr
        )


def compose_config_hashes(docker: DockerClient, services: Sequence[str]) -> dict[str, str]:
    """Each service's configuration hash as compose computes it from the files
    and env files now (`docker compose config --hash`): what the label
    ``com.docker.compose.config-hash`` of a container started now would say.

    python-on-whales 0.81's ``compose.config`` has no ``hash``.
    """
    with docker_errors("docker compose config --hash"):
        out = _run(
            [*docker.docker_compose_cmd, "config", "--hash", ",".join(services)],
            return_stderr=False,
        )
    hashes = (line.split() for line in out.splitlines())
    return {parts[0]: parts[1] for parts in hashes if len(parts) == 2}


def compose_run_argv(docker: DockerClient, service: str, command: Sequence[str]) -> list[str]:
    """`docker compose run --rm --no-deps -T SERVICE COMMAND`: a throw-away
    container of the service, stdin open, no tty; for :func:`feed` or :func:`stream`."""
    with docker_errors("docker compose"):
        compose = [str(part) for part in docker.docker_compose_cmd]
    return [*compose, "run", "--rm", "--no-deps", "-T", service, *command]


def compose_exec_argv(
    docker: DockerClient,
    service: str,
    command: Sequence[str],
    *,
    envs: Mapping[str, str] | None = None,
    index: int | None = None,
) -> list[str]:
    """`docker compose exec -T [--index N] [-e K=V ...] SERVICE COMMAND`: in the
    service's running container, stdin open, no tty; for :func:`feed` or :func:`stream`."""
    with docker_errors("docker compose"):
        compose = [str(part) for part in docker.docker_compose_cmd]
    options = ["--index", str(index)] if index is not None else []
    for key, value in (envs or {}).items():
        options += ["-e", f"{key}={value}"]
    return [*compose, "exec", "-T", *options, service, *command]


def container_exec_argv(
    docker: DockerClient,
    container: str,
    command: Sequence[str],
    *,
    envs: Mapping[str, str] | None = None,
) -> list[str]:
    """`docker exec -i [-e K=V ...] CONTAINER COMMAND`: stdin open, no tty
    (a swarm task's container on the manager); for :func:`feed` or :func:`stream`."""
    with docker_errors("docker"):
        cli = [str(part) for part in docker.docker_cmd]
    options = []
    for key, value in (envs or {}).items():
        options += ["-e", f"{key}={value}"]
    return [*cli, "exec", "-i", *options, container, *command]


def feed(argv: Sequence[str], data: bytes, *, action: str) -> str:
    """Run a compose command (:func:`compose_run_argv`, :func:`compose_exec_argv`)
    with ``data`` on its stdin; what it printed on stdout.

    python-on-whales 0.81's ``compose.run`` and ``compose.execute`` take no stdin.
    """
    with docker_errors(action):
        return _run(list(argv), input=data, return_stderr=False)


def stream(argv: Sequence[str], *, action: str) -> Iterator[tuple[str, bytes]]:
    """Run a compose command (:func:`compose_run_argv`, :func:`compose_exec_argv`)
    and yield its output as it comes: ("stdout" or "stderr", bytes).

    python-on-whales 0.81's ``compose.execute`` returns its output only at the
    end, decoded: no use for a database dump (``compose.run(stream=True)``
    could stream, but backups stream out of ``exec`` too, by one path).
    """
    with docker_errors(action):
        yield from _stream(list(argv))


def archive_in(docker: DockerClient, container: str, dest: str, archive: bytes) -> None:
    """Unpack a tar ``archive`` at ``dest`` in a container (`docker cp -a -
    CONTAINER:DEST`): files written through the engine, with the modes and
    owners the archive gives them, never staged in a file here.

    python-on-whales 0.81's ``container.copy`` takes only paths on this host.
    """
    with docker_errors(f"writing into {container}"):
        _run([*docker.docker_cmd, "cp", "--archive", "-", f"{container}:{dest}"], input=archive)


def archive_out(docker: DockerClient, container: str, path: str) -> bytes:
    """``path`` in a container as a tar archive (`docker cp CONTAINER:PATH -`),
    read through the engine into memory."""
    chunks = []
    with docker_errors(f"reading {path} in {container}"):
        for source, chunk in _stream([*docker.docker_cmd, "cp", f"{container}:{path}", "-"]):
            if source == "stdout":
                chunks.append(chunk)
    return b"".join(chunks)


def stack_deploy(docker: DockerClient, stack: str, file: str) -> str:
    """`docker stack deploy --resolve-image never -c FILE STACK`, its output
    captured: python-on-whales 0.81's ``stack.deploy`` lets the CLI write
    to slipway's own stdout (which `--json` keeps for its document)."""
    argv = [*docker.docker_cmd, "stack", "deploy", "--resolve-image", "never", "-c", file, stack]
    with docker_errors(f"docker stack deploy {stack}"):
        return str(_run(argv, capture_stderr=True))


def push(docker: DockerClient, ref: str) -> None:
    """`docker push --quiet REF`, its output captured: python-on-whales 0.81's
    ``image.push`` lets the CLI's errors through to slipway's own stderr."""
    with docker_errors(f"pushing {ref}"):
        _run([*docker.docker_cmd, "push", "--quiet", ref], capture_stderr=True)


def service_update(
    docker: DockerClient, service: str, *, replicas: int, detach: bool = False
) -> None:
    """`docker service update --replicas N SERVICE`, which waits until the
    service converged (not with ``detach``), its output captured:
    python-on-whales 0.81's ``service.update`` and ``service.scale`` let the
    CLI's progress through to slipway's own stdout."""
    argv = [*docker.docker_cmd, "service", "update", "--quiet", "--replicas", str(replicas)]
    argv += ["--detach"] if detach else []
    with docker_errors(f"docker service update {service}"):
        _run([*argv, service], capture_stderr=True)


def ship(source: DockerClient, target: DockerClient, ref: str, image_id: str) -> bool:
    """Copy image ``ref`` from one engine to another (`docker save | docker
    load`, streamed, nothing written here); False when the target already
    has that very image (the same id), which is then not sent again."""
    with docker_errors(f"inspecting {ref} on the target"):
        if target.image.exists(ref) and target.image.inspect(ref).id == image_id:
            return False
    save_argv = [*source.docker_cmd, "save", ref]
    load_argv = [*target.docker_cmd, "load", "-q"]
    with docker_errors(f"shipping {ref}"):
        with subprocess.Popen(save_argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as save:
            load = subprocess.run(load_argv, stdin=save.stdout, capture_output=True, check=False)
            _, saved_err = save.communicate()
        for argv, code, err in (
            (save_argv, save.returncode, saved_err),
            (load_argv, load.returncode, load.stderr),
        ):
            if code != 0:
                raise get_docker_exception_type(err)(
                    command_launched=argv, return_code=code, stderr=err
                )
    return True
