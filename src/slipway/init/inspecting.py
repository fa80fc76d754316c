"""What init will write for: the flags checked, then the project read and
what it does not say inferred, in one :class:`~slipway.init.project.Project`."""

from __future__ import annotations

from pathlib import Path

from slipway.init import project as uv
from slipway.init.flags import Flags, check
from slipway.init.project import Project
from slipway.init.python import choose
from slipway.init.server import migration_script, server

_INFER = Flags()  # every flag left to infer (frozen: one default for every call)


def inspect(root: Path, flags: Flags = _INFER) -> Project:
    """Read the project and the flags; UsageError says what cannot be told.
    The flags follow slipway.yaml's rules, checked before anything is read."""
    given = check(flags)
    data = uv.pyproject(root)
    member, package_data = uv.package(root, data, flags.package)
    python = choose(root, member, package_data)
    home = root / member
    found_migrate: tuple[str, ...] = ()
    if given.command:
        run = dev = given.command
    else:
        run, dev, found_migrate = server(home, package_data, given.port, uv.locked(root))
    # The project's own migration script wins over what init would infer.
    steps = () if given.no_migrate else given.migrate or migration_script(home) or found_migrate
    groups = package_data.get("dependency-groups") or {}
    return Project(
        root=root,
        name=uv.normal(str(package_data["project"]["name"])),
        member=member,
        members=tuple(folder for folder, _ in uv.members(root, data).values()),
        command=run,
        dev_command=dev,
        migrate=tuple(steps) or None,
        port=given.port,
        health_path=given.health_path,
        source=tuple(uv.below(member, item) for item in uv.source(home)),
        test_groups=tuple(g for g in ("test", "dev") if g in groups)[:1],
        python=python,
        database=given.database,
        worker=given.worker,
        dependencies=uv.dependencies(root, str(package_data["project"]["name"])),
    )
