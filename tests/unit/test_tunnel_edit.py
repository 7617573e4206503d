"""edit_config: what the cloudflared ConfigMap holds after norn's write, and whether it is what norn sent."""

from __future__ import annotations

import copy

import pytest

from norn import settings
from norn.cloudflare import cloudflared, ingress
from norn.infraspec.loading import load
from norn.state import ForgeState
from norn.steps import tunnel
from norn.steps.pipeline import Context

CONFIG = "tunnel: norn\ningress:\n  - service: http_status:404\n"
HOST, SERVICE = "web.example.com", "http://web-svc.default.svc.cluster.local:80"


class ConfigMapServer:
    """The cloudflared ConfigMap behind get and replace; ``rewrite`` changes what a write stores."""

    def __init__(self, rewrite=lambda text: text) -> None:
        self.object = {"metadata": {"resourceVersion": "1"}, "data": {"config.yaml": CONFIG}}
        self.rewrite = rewrite

    def get(self, kind, namespace, name):
        return copy.deepcopy(self.object)

    def replace(self, kind, namespace, name, body):
        body["data"]["config.yaml"] = self.rewrite(body["data"]["config.yaml"])
        self.object = body
        return copy.deepcopy(body)


@pytest.fixture(autouse=True)
def no_cloudflared(monkeypatch):
    monkeypatch.setattr(cloudflared, "find", lambda: None)


def edit(server: ConfigMapServer) -> tunnel.Edited | None:
    ctx = Context("web", settings.load({}), ForgeState("web"), _cluster=server)
    return tunnel.edit_config(ctx, lambda text: ingress.add_rule(text, HOST, SERVICE))


def test_a_write_the_server_keeps_as_sent_needs_no_second_look():
    edited = edit(ConfigMapServer())
    assert edited.changed and edited.as_sent
    assert ingress.find_rule(edited.written, HOST) == SERVICE


def test_a_write_the_server_changed_is_reported_as_not_sent():
    edited = edit(ConfigMapServer(rewrite=lambda text: text.replace(HOST, "other.example.com")))
    assert edited.changed and not edited.as_sent
    assert ingress.find_rule(edited.written, HOST) is None


def test_a_config_that_already_routes_the_host_is_not_written():
    server = ConfigMapServer()
    server.object["data"]["config.yaml"] = ingress.add_rule(CONFIG, HOST, SERVICE)[0]
    edited = edit(server)
    assert not edited.changed and edited.as_sent
    assert server.object["metadata"]["resourceVersion"] == "1"


def test_patch_cloudflared_reads_the_written_config_again_only_when_the_server_changed_it(monkeypatch, tmp_path):
    looks = []
    real = ingress.find_rule
    monkeypatch.setattr(ingress, "find_rule", lambda text, host: looks.append(host) or real(text, host))
    spec_file = tmp_path / "infraspec.yaml"
    spec_file.write_text(f"app: web\nrole: webserver\nport: 8080\nhosts:\n  internal: web-svc\n  external: {HOST}\n")
    spec = load(spec_file)
    for server, expected in ((ConfigMapServer(), []), (ConfigMapServer(rewrite=lambda text: text + "# edited\n"), [HOST])):
        looks.clear()
        ctx = Context("web", settings.load({}), ForgeState("web"), spec=spec, _cluster=server)
        assert tunnel.PatchCloudflared().run(ctx).startswith("added")
        assert looks == expected

