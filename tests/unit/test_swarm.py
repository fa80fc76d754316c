"""slipway.backends.swarm: a swarm environment's keys, and the stack file
translated from the compose model (pure: no engine)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from slipway.backends.swarm import stackfile
from slipway.config import load
from slipway.config.roles import Role
from slipway.errors import ConfigError

WriteConfig = Callable[[object], Path]
RELEASE = "registry:5000/slipway/notes:abc@sha256:" + "0" * 64


def _swarm(config_data: dict[str, Any], **changes: object) -> dict[str, Any]:
    prod = config_data["environments"]["prod"]
    config_data["environments"]["cluster"] = {
        **prod,
        "engine": "tcp://127.0.0.1:12375",
        "orchestrator": "swarm",
        "registry": "registry:5000",
        **changes,
    }
    return config_data


def test_a_swarm_environment_loads_with_its_registry(
    write_config: WriteConfig, config_data: dict[str, Any]
) -> None:
    env = load(write_config(_swarm(config_data))).environment("cluster")
    assert (env.backend, env.registry, env.engine) == (
        "swarm",
        "registry:5000",
        "tcp://127.0.0.1:12375",
    )


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        (
            {"registry": None},
            "environments.cluster.orchestrator: swarm needs a registry the nodes pull the "
            "release from: add registry: host:port, as the manager and every node reach it",
        ),
        (
            {"registry": "http://registry:5000"},
            "environments.cluster.registry: expected a registry host[:port]",
        ),
        (
            {"target": "dev"},
            "environments.cluster.engine: runs the dev target",
        ),
        (
            {"orchestrator": "kubernetes"},
            "environments.cluster.orchestrator",
        ),
    ],
)
def test_a_swarm_environment_s_keys_are_checked_in_one_line(
    write_config: WriteConfig, config_data: dict[str, Any], changes: dict[str, Any], said: str
) -> None:
    data = _swarm(config_data, **changes)
    spec = data["environments"]["cluster"]
    for key in [k for k, v in changes.items() if v is None]:
        del spec[key]
    with pytest.raises(ConfigError) as caught:
        load(write_config(data))
    assert said in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_registry_on_a_compose_environment_is_refused(
    write_config: WriteConfig, config_data: dict[str, Any]
) -> None:
    data = _swarm(config_data, orchestrator="compose")
    with pytest.raises(ConfigError, match="is only for orchestrator: swarm"):
        load(write_config(data))


def _model() -> dict[str, Any]:
    hardened = {
        "read_only": True,
        "tmpfs": ["/var/cache/app"],
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "restart": "unless-stopped",
        "pull_policy": "never",
    }
    state = {"type": "volume", "source": "slipway-state", "read_only": True}
    return {
        "name": "slipway-cluster",
        "services": {
            "app": {
                **hardened,
                "image": "slipway/notes:abc",
                "depends_on": {"db": {"condition": "service_healthy"}},
                "deploy": {"replicas": 1, "resources": {"limits": {"memory": "536870912"}}},
                "environment": {"SECRET_KEY_FILE": "/run/secrets/secret_key"},
                "networks": {"default": None, "db": None},
                "volumes": [
                    {
                        **state,
                        "target": "/run/secrets/secret_key",
                        "volume": {"subpath": "secrets/secret_key"},
                    },
                ],
            },
            "worker": {**hardened, "image": "slipway/notes:abc", "networks": {"db": None}},
            "migrate": {**hardened, "image": "slipway/notes:abc", "restart": "no"},
            "proxy": {
                **hardened,
                "image": "haproxy:3.0",
                "ports": [
                    {
                        "mode": "ingress",
                        "host_ip": "127.0.0.1",
                        "target": 8080,
                        "published": "8000",
                        "protocol": "tcp",
                    }
                ],
                "volumes": [
                    {**state, "target": "/usr/local/etc/haproxy", "volume": {"subpath": "proxy"}}
                ],
            },
            "db": {
                **hardened,
                "image": "postgres:17",
                "networks": {"db": None},
                "volumes": [{"type": "volume", "source": "pg-data", "target": "/var/lib/pg"}],
            },
        },
        "networks": {
            "default": {"name": "slipway-cluster_default", "ipam": {}},
            "db": {"name": "slipway-cluster_db", "ipam": {}, "internal": True},
        },
        "volumes": {
            "pg-data": {"name": "slipway-cluster_pg-data"},
            "slipway-state": {"name": "slipway-cluster-state", "external": True},
        },
        "x-hardened": {},
    }


def _plan(**changes: Any) -> stackfile.Plan:
    values: dict[str, Any] = {
        "stack": "slipway-cluster",
        "web": "app",
        "migrate": "migrate",
        "release": RELEASE,
        "replicas": 2,
        "roles": {"worker": Role("worker", singleton=True)},
        "secrets": {"secret_key": ("slipway-cluster-secret_key-0123456789ab", Path("/p/sk"))},
        "proxy_config": ("slipway-cluster-haproxy-0123", Path("/p/haproxy.cfg")),
        "monitors": {"app": 11, "worker": 45},
    }
    return stackfile.Plan(**(values | changes))


def _stack(services: tuple[str, ...] = ("app", "worker", "migrate", "proxy", "db")) -> Any:
    return stackfile.render(_model(), _plan(), services=services)


def test_every_release_service_runs_the_pushed_digest_never_a_tag() -> None:
    services = _stack()["services"]
    assert {services[s]["image"] for s in ("app", "worker", "migrate")} == {RELEASE}
    assert services["db"]["image"] == "postgres:17"


def test_what_stack_deploy_ignores_or_rejects_is_translated() -> None:
    stack = _stack()
    app = stack["services"]["app"]
    for key in ("depends_on", "restart", "pull_policy", "security_opt", "tmpfs"):
        assert key not in app
    assert app["deploy"]["restart_policy"] == {"condition": "any", "delay": "1s"}
    # stack deploy drops `tmpfs:` silently: a tmpfs mount instead.
    assert {"type": "tmpfs", "target": "/var/cache/app"} in app["volumes"]
    assert stack["services"]["migrate"]["deploy"]["mode"] == "replicated-job"
    assert stack["services"]["migrate"]["deploy"]["restart_policy"] == {"condition": "none"}
    assert "name" not in stack
    assert not any(k.startswith("x-") for k in stack)


def test_file_secrets_become_swarm_secrets_named_by_their_content() -> None:
    stack = _stack()
    app = stack["services"]["app"]
    assert app["secrets"] == [{"source": "secret_key", "target": "/run/secrets/secret_key"}]
    assert all(v.get("source") != "slipway-state" for v in app["volumes"])
    assert stack["secrets"] == {
        "secret_key": {"name": "slipway-cluster-secret_key-0123456789ab", "file": "/p/sk"}
    }
    assert "slipway-state" not in stack["volumes"]


def test_the_update_and_rollback_policy_is_swarm_s_own_and_watched_long_enough() -> None:
    services = _stack()["services"]
    app = services["app"]["deploy"]
    assert app["replicas"] == 2
    assert app["endpoint_mode"] == "dnsrr"
    assert app["update_config"]["order"] == "start-first"
    assert app["update_config"]["failure_action"] == "rollback"
    assert app["update_config"]["monitor"] == "11s"
    assert app["rollback_config"]["order"] == "start-first"
    # A canary: the next task waits until the last one was watched for its
    # window; a rollback does not wait.
    assert app["update_config"]["delay"] == "11s"
    assert app["rollback_config"]["delay"] == "0s"
    assert services["worker"]["deploy"]["update_config"]["delay"] == "0s"
    # A singleton, a port on the node and a data volume: the old task stops first.
    assert services["worker"]["deploy"]["update_config"]["order"] == "stop-first"
    assert services["worker"]["deploy"]["replicas"] == 1
    assert services["proxy"]["deploy"]["update_config"]["order"] == "stop-first"
    assert services["db"]["deploy"]["update_config"]["order"] == "stop-first"
    assert services["db"]["deploy"]["placement"] == {
        "constraints": ["node.labels.slipway.data == true"]
    }


def test_the_proxy_publishes_on_its_node_and_reads_its_configuration_from_swarm() -> None:
    stack = _stack()
    proxy = stack["services"]["proxy"]
    assert proxy["ports"] == [
        {"target": 8080, "mode": "host", "protocol": "tcp", "published": 8000}
    ]
    assert proxy["configs"] == [{"source": "haproxy", "target": stackfile.PROXY_TARGET}]
    assert stack["configs"] == {
        "haproxy": {"name": "slipway-cluster-haproxy-0123", "file": "/p/haproxy.cfg"}
    }
    assert proxy["deploy"]["placement"] == {"constraints": ["node.role == manager"]}


def test_a_phase_holds_only_its_services_and_what_they_use() -> None:
    stack = _stack(("db",))
    assert set(stack["services"]) == {"db"}
    assert set(stack["networks"]) == {"db"}
    assert stack["networks"]["db"] == {"driver": "overlay", "internal": True}
    assert set(stack["volumes"]) == {"pg-data"}
    assert "secrets" not in stack
    assert "configs" not in stack


@pytest.mark.parametrize("key", ["privileged", "network_mode", "pid", "devices"])
def test_a_key_a_swarm_cannot_honour_is_refused_naming_it(key: str) -> None:
    model = _model()
    model["services"]["app"][key] = "host" if key != "privileged" else True
    with pytest.raises(ConfigError) as caught:
        stackfile.refuse_unswarmable(model, "cluster")
    assert f"service app sets {key}, which a swarm cannot honour" in str(caught.value)


@pytest.mark.parametrize(
    ("check", "seconds"),
    [
        ({"interval": "10s", "retries": 3, "start_period": "30s"}, 60),
        ({"interval": "2s", "retries": 3, "start_period": "5s"}, 11),
        ({"interval": "1m30s", "retries": 1}, 90),
        ({"disable": True}, 5),
        (None, 5),
    ],
)
def test_the_monitor_window_outlasts_a_failing_health_check(
    check: dict[str, Any] | None, seconds: int
) -> None:
    assert stackfile.monitor(check) == seconds
