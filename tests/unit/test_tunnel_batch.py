"""The many-app run's shared tunnel: the gathered config edit (tunnel.edit_all) and the coordinator (Gathering).

The combined config is checked by norn's checks, which follow cloudflared's config and ingress
packages (cloudflare/cloudflared config/configuration.go, ingress/ingress.go validateIngress; see
tests/unit/test_ingress_check.py for the citations of each rule).
"""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
import yaml

from norn import settings
from norn.cloudflare import cloudflared, ingress
from norn.cloudflare.ingress import IngressError
from norn.state import ForgeState
from norn.steps import tunnel
from norn.steps.pipeline import Context
from norn.steps.tunnel_batch import Gathering
from tests.unit.test_tunnel_edit import CONFIG, ConfigMapServer


@pytest.fixture(autouse=True)
def no_cloudflared(monkeypatch):
    monkeypatch.setattr(cloudflared, "find", lambda: None)


def adding(host: str):
    """patch-cloudflared's edit: one the batch adds together with the others next to it (ingress.add_rules)."""
    return tunnel.AddRule(host, f"http://{host.split('.')[0]}:80")


def inserting(line: str):
    """An edit that puts ``line`` just under ``ingress:`` as it is, whatever it makes of the config."""
    return lambda text: (text.replace("ingress:\n", f"ingress:\n{line}\n"), True)


def run_batch(server, changes):
    ctx = Context("web", settings.load({}), ForgeState("web"), _cluster=server)
    return tunnel.edit_all([(ctx, change) for change in changes])


class CountingServer(ConfigMapServer):
    writes = 0

    def replace(self, kind, namespace, name, body):
        self.writes += 1
        return super().replace(kind, namespace, name, body)


def test_the_edits_of_a_batch_are_written_in_one_write():
    server = CountingServer()
    results = run_batch(server, [adding("a.example.com"), adding("b.example.com")])
    assert server.writes == 1
    assert all(isinstance(result, tunnel.Edited) and result.changed and result.as_sent for result in results)
    assert ingress.find_rule(results[0].written, "a.example.com") == "http://a:80"
    assert ingress.find_rule(results[0].written, "b.example.com") == "http://b:80"


def test_an_edit_that_makes_the_config_invalid_alone_fails_only_its_app():
    server = CountingServer()
    bad = inserting("  - hostname: bad.example.com:443\n    service: http://bad:80")  # a port: refused
    results = run_batch(server, [adding("a.example.com"), bad, adding("b.example.com")])
    assert isinstance(results[1], IngressError) and "would be invalid" in results[1].message
    assert server.writes == 1
    assert "bad.example.com" not in server.object["data"]["config.yaml"]
    assert results[0].changed and results[2].changed


def test_a_combined_config_no_edit_alone_makes_invalid_fails_every_edit_with_the_checkers_words():
    """Each edit alone is valid; together they repeat a key, which cloudflared refuses: it decodes the config
    with gopkg.in/yaml.v3 (cloudflare/cloudflared config/configuration.go, ReadConfigFile), and yaml.v3
    refuses a mapping key defined twice."""
    server = CountingServer()
    def first(text):
        return text + "loglevel: info\n", True

    def second(text):
        return text + "loglevel: warn\n", True

    results = run_batch(server, [first, second, adding("a.example.com")])
    assert server.writes == 0  # the culprits cannot be told apart: every edit that changed the config fails
    assert all(isinstance(result, IngressError) for result in results)
    assert results[0].message == results[2].message and "loglevel" in results[0].message


def test_an_edit_that_cannot_be_made_fails_only_its_app():
    server = CountingServer()
    server.object["data"]["config.yaml"] = ingress.add_rule(CONFIG, "a.example.com", "http://elsewhere:80")[0]
    results = run_batch(server, [adding("a.example.com"), adding("b.example.com")])
    assert isinstance(results[0], IngressError) and "already routed" in results[0].message
    assert results[1].changed and server.writes == 1


def test_one_edit_is_edit_config_itself():
    server = CountingServer()
    [result] = run_batch(server, [adding("a.example.com")])
    assert result.changed and server.writes == 1


def test_a_point_waits_for_every_app_that_can_still_reach_it_and_is_carried_out_once():
    coordinator = Gathering(["a", "b", "c"], parallel=2)
    calls: list[list[str]] = []
    results: dict[str, object] = {}

    def act(batch):
        calls.append(sorted(ctx.app for ctx, _ in batch))
        return [f"done for {ctx.app}" for ctx, _ in batch]

    def app(name: str, names: list[str]) -> None:
        with coordinator.slot():
            coordinator.steps(name, names)
            for step in names:
                if step == "patch-cloudflared":
                    results[name] = coordinator.gather(tunnel.EDIT, SimpleNamespace(app=name), None, act)
                coordinator.passed(name, step)
        coordinator.ended(name)

    threads = [threading.Thread(target=app, args=("a", ["create-service", "patch-cloudflared"])),
               threading.Thread(target=app, args=("b", ["patch-cloudflared"])),
               threading.Thread(target=app, args=("c", ["register-cron"]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert calls == [["a", "b"]]
    assert results == {"a": "done for a", "b": "done for b"}


def test_the_rules_of_fifty_apps_are_added_with_one_parse_of_the_config(monkeypatch):
    """One at a time, each add would parse every rule added before it: fifty apps took 440 ms in the edit."""
    parses = []
    real = yaml.composer.Composer.get_single_node  # what both ingress's parse and its check parse with
    monkeypatch.setattr(yaml.composer.Composer, "get_single_node", lambda self: parses.append(1) or real(self))
    server = CountingServer()
    hosts = [f"app-{i:02d}.example.com" for i in range(50)]
    results = run_batch(server, [adding(host) for host in hosts])
    assert all(result.changed for result in results) and server.writes == 1
    assert len(parses) <= 3  # the config read, the edited text checked, the written one read back by the server
    written = server.object["data"]["config.yaml"]
    assert [rule.get("hostname") for rule in yaml.safe_load(written)["ingress"]][-51:-1] == hosts


def test_a_batch_of_adds_and_other_edits_keeps_their_order():
    """Adds next to each other go in one pass; an edit between them sees the adds before it, as in turn."""
    server = CountingServer()
    removing_a = lambda text: ingress.remove_rule(text, "a.example.com")  # noqa: E731
    results = run_batch(server, [adding("a.example.com"), removing_a, adding("b.example.com"), adding("a.example.com")])
    assert [result.changed for result in results] == [True, True, True, True]
    rules = [rule.get("hostname") for rule in yaml.safe_load(server.object["data"]["config.yaml"])["ingress"]]
    assert rules[-3:] == ["b.example.com", "a.example.com", None]


def test_the_rules_of_fifty_apps_are_removed_with_one_parse_of_the_config(monkeypatch):
    """A many-app teardown's removals go together too (one at a time, fifty took 590 ms)."""
    from norn.resources import IngressRule

    server = CountingServer()
    hosts = [f"app-{i:02d}.example.com" for i in range(50)]
    run_batch(server, [adding(host) for host in hosts])
    parses = []
    real = yaml.composer.Composer.get_single_node
    monkeypatch.setattr(yaml.composer.Composer, "get_single_node", lambda self: parses.append(1) or real(self))
    removals = [tunnel.RemoveRules((IngressRule(host, f"http://{host.split('.')[0]}:80", "cloudflared/cloudflared"),))
                for host in hosts]
    results = run_batch(server, removals)
    assert all(result.changed for result in results) and server.writes == 2
    assert len(parses) <= 3
    assert server.object["data"]["config.yaml"] == CONFIG
