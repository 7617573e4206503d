"""cluster.connect: which context and user a kubeconfig names, read once."""

from __future__ import annotations

import os

import pytest
import yaml

from norn.cluster import connect
from norn.errors import UsageError


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
    parse = mocker.spy(yaml, "safe_load")
    connect(str(config), "prod")
    assert parse.call_count == 1


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
