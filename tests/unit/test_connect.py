"""connect: which context and user a kubeconfig names, read once."""

from __future__ import annotations

import os
import sys
import types

import pytest
import yaml

from norn.errors import UsageError
from norn.kube import kubeconfig as kubeconfig_files
from norn.kube.connect import connect


def kubeconfig(path, current: str, *names: str):
    clusters = "".join(f"- name: {n}\n  cluster: {{server: 'http://{n}.invalid:6443'}}\n" for n in names)
    contexts = "".join(f"- name: {n}\n  context: {{cluster: {n}, user: user-{n}}}\n" for n in names)
    users = "".join(f"- name: user-{n}\n  user: {{token: t-{n}}}\n" for n in names)
    path.write_text(
        f"apiVersion: v1\nkind: Config\ncurrent-context: {current}\n"
        f"clusters:\n{clusters}contexts:\n{contexts}users:\n{users}"
    )
    return path


def test_the_current_context_or_the_one_asked_for(tmp_path):
    config = kubeconfig(tmp_path / "config", "dev", "dev", "prod")
    dev = connect(str(config), None)
    assert (dev.context, dev.user, dev.server) == ("dev", "user-dev", "http://dev.invalid:6443")
    prod = connect(str(config), "prod")
    assert (prod.context, prod.user, prod.server) == ("prod", "user-prod", "http://prod.invalid:6443")


def test_the_kubeconfig_is_parsed_once(tmp_path, mocker):
    config = kubeconfig(tmp_path / "config", "dev", "dev", "prod")
    connect(str(config), None)  # the client's modules imported before counting
    parse = mocker.spy(kubeconfig_files, "parse_kubeconfig")
    slow = mocker.spy(yaml, "safe_load")  # the client's own reading, in pure Python
    connect(str(config), "prod")
    assert (parse.call_count, slow.call_count) == (1, 0)


def test_kubeconfig_files_are_merged_like_kubectl(tmp_path):
    first = kubeconfig(tmp_path / "first", "dev", "dev")
    second = kubeconfig(tmp_path / "second", "prod", "prod")
    merged = connect(os.pathsep.join([str(first), str(second)]), "prod")
    assert (merged.context, merged.user) == ("prod", "user-prod")
    assert connect(os.pathsep.join([str(first), str(second)]), "dev").user == "user-dev"


def test_an_empty_kubeconfig_is_a_usage_error(tmp_path):
    empty = tmp_path / "config"
    empty.write_text("")
    with pytest.raises(UsageError, match=r"kubeconfig .*config.* is empty"):
        connect(str(empty), None)


def test_the_first_file_to_set_current_context_wins(tmp_path):
    # client-go tools/clientcmd/loader.go, ClientConfigLoadingRules.Load: "The first file to set a
    # particular map key wins"; values outside maps (current-context) merge in reverse, so the first
    # file's stays (kubernetes.io "Organizing Cluster Access": "Preserve the context of the first file
    # to set current-context"). The Python client's KubeConfigMerger lets the last file win.
    first = kubeconfig(tmp_path / "first", "dev", "dev")
    second = kubeconfig(tmp_path / "second", "prod", "prod")
    assert connect(os.pathsep.join([str(first), str(second)]), None).context == "dev"


@pytest.mark.parametrize("asked, source", [("nope", "--context"), (None, "its current-context")])
def test_a_missing_context_is_named_with_the_ones_that_exist(tmp_path, asked, source):
    # client-go tools/clientcmd/validation.go, ConfirmUsable: the context is --context, else
    # current-context; one that is not in contexts is errContextNotFound.
    config = kubeconfig(tmp_path / "config", "gone", "dev", "prod")
    wanted = asked or "gone"
    with pytest.raises(UsageError) as error:
        connect(str(config), asked)
    assert error.value.message == f"kubeconfig {config} has no context {wanted!r} (from {source}); its contexts: dev, prod"
    assert "--context" in error.value.hint


def test_no_current_context_and_no_flag_asks_for_one(tmp_path):
    # client-go tools/clientcmd/validation.go, ConfirmUsable: no context name at all is ErrNoContext.
    config = tmp_path / "config"
    config.write_text("apiVersion: v1\nkind: Config\ncontexts: [{name: a, context: {cluster: a, user: a}}]\n")
    with pytest.raises(UsageError, match=r"sets no current-context; its contexts: a$"):
        connect(str(config), None)


@pytest.mark.parametrize(
    "text, words",
    [
        ("clusters: [\n", "is not valid YAML: "),
        ("a: 1\n---\nb: 2\n", "is not valid YAML: "),  # kubectl reads one document
        ("- just\n- a list\n", "is not a kubeconfig: its top level is not a mapping"),
        ("contexts: {a: b}\n", "contexts must be a list of entries, each with a name"),
        ("users: [{user: {token: t}}]\n", "users must be a list of entries, each with a name"),
        (b"\xff\xfe\x00garbage", "is not UTF-8 text"),
    ],
)
def test_what_is_not_a_kubeconfig_is_one_line(tmp_path, text, words):
    config = tmp_path / "config"
    config.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(UsageError) as error:
        connect(str(config), None)
    assert words in error.value.message and "\n" not in error.value.message
    assert error.value.message.startswith(f"kubeconfig {config}")


def test_an_alias_bomb_is_refused_before_anything_expands_it(tmp_path, mocker):
    # A billion laughs under a cluster entry: the client's KubeConfigMerger formats each entry
    # with str(), which writes every alias out.
    levels = "".join(f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 10))
    config = tmp_path / "config"
    config.write_text(
        "apiVersion: v1\ncurrent-context: c\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\nusers: [{name: u, user: {token: t}}]\n"
        f"clusters:\n- name: k\n  cluster: {{server: 'http://k.invalid'}}\n  bomb:\n  l0: &l0 [x]\n".replace(
            "  bomb:\n  l0", "  bomb:\n    l0"
        )
        + levels.replace("  l", "    l")
    )
    construct = mocker.spy(kubeconfig_files, "_expanded_size")
    with pytest.raises(UsageError, match=r"aliases expand to more than 1,000,000 nodes"):
        connect(str(config), None)
    assert construct.call_count < 200  # each shared node counted once, not once per alias written out


def test_a_kubeconfig_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    first = kubeconfig(tmp_path / "first", "dev", "dev")
    second = kubeconfig(tmp_path / "second", "c1", "c1", "c2")
    both = first.stat().st_size + second.stat().st_size
    monkeypatch.setattr(kubeconfig_files, "KUBECONFIG_MAX_BYTES", both - 1)
    assert connect(str(first), None).context == "dev"
    with pytest.raises(UsageError, match=r"second is too large: kubeconfig files may hold"):
        connect(os.pathsep.join([str(first), str(second)]), None)  # the limit is for all files together


def test_a_directory_or_an_unreadable_kubeconfig_is_one_line(tmp_path, monkeypatch):
    with pytest.raises(UsageError, match=r"is a directory, not a file"):
        connect(str(tmp_path), None)
    config = kubeconfig(tmp_path / "config", "dev", "dev")
    real_open = open

    def refuse(path, *args, **kwargs):
        if str(path) == str(config):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refuse)
    with pytest.raises(UsageError, match=r"cannot be read: Permission denied"):
        connect(str(config), None)


def test_a_client_without_the_loader_norn_uses_gets_its_public_function(tmp_path, monkeypatch):
    import norn.kube.lazyimport

    config = kubeconfig(tmp_path / "config", "dev", "dev", "prod")
    connect(str(config), None)
    real = sys.modules["kubernetes.config.kube_config"]
    public_only = types.SimpleNamespace(load_kube_config=real.load_kube_config)  # no ConfigNode, no KubeConfigLoader
    monkeypatch.setattr(norn.kube.lazyimport, "import_kube_config", lambda: public_only)
    prod = connect(str(config), "prod")
    assert (prod.context, prod.user, prod.server) == ("prod", "user-prod", "http://prod.invalid:6443")


def test_a_file_the_loader_trips_on_is_one_line_and_read_once(tmp_path, mocker):
    # A context that is a string, not a mapping: the client's loader raises AttributeError
    # ('str' object has no attribute 'safe_get'); that is the file's fault, not a reason to
    # read it again through the public function.
    config = tmp_path / "config"
    config.write_text("current-context: c\ncontexts: [{name: c, context: nope}]\n")
    connect(str(kubeconfig(tmp_path / "good", "dev", "dev")), None)
    again = mocker.spy(sys.modules["kubernetes.config.kube_config"], "load_kube_config")
    with pytest.raises(UsageError) as error:
        connect(str(config), None)
    assert error.value.message.startswith(
        f"kubeconfig {config}: the kubernetes client cannot load context 'c': AttributeError: "
    )
    assert again.call_count == 0


def test_a_client_older_than_37_is_one_line_naming_the_version_needed(tmp_path, monkeypatch):
    # kubernetes-client/python: ApiClient.param_serialize (what Cluster._send calls) is in
    # kubernetes/client/api_client.py from 37.0.0 on; 30.1.0 to 36.0.3 have only call_api.
    config = kubeconfig(tmp_path / "config", "dev", "dev")
    connect(str(config), None)
    from kubernetes.client.api_client import ApiClient

    monkeypatch.delattr(ApiClient, "param_serialize")
    with pytest.raises(UsageError, match=r"older than norn needs \(37 or newer\)") as error:
        connect(str(config), None)
    assert "kubernetes>=37" in error.value.hint


def test_a_client_that_cannot_be_imported_is_one_line(tmp_path, monkeypatch):
    import norn.kube.lazyimport

    def broken():
        raise ImportError("No module named 'oauthlib'")

    monkeypatch.setattr(norn.kube.lazyimport, "import_kube_config", broken)
    with pytest.raises(UsageError, match=r"the kubernetes client cannot be imported: No module named 'oauthlib'"):
        connect(str(kubeconfig(tmp_path / "config", "dev", "dev")), None)
