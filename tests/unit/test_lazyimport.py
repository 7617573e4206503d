"""norn.kube.lazyimport: the kubernetes client's kubeconfig loader without imports it rarely needs.

Each check runs in a fresh interpreter: what matters is what sys.modules holds.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run(code: str) -> None:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_connect_loads_neither_requests_nor_oauthlib_oauth2_nor_the_date_parser(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:1'}}]\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
    )
    run(f"""
        import sys
        from norn.kube.connect import connect
        cluster = connect({str(kubeconfig)!r}, None)
        loaded = {{m for m in sys.modules if m.split('.')[0] in ('requests', 'requests_oauthlib')}}
        loaded |= {{m for m in sys.modules if m.startswith(('oauthlib.oauth2.', 'dateutil.parser', 'dateutil.tz'))}}
        assert not loaded, sorted(loaded)
        assert cluster.context == 'c' and cluster.user == 'u'
    """)


def test_the_oidc_refresh_still_gets_the_real_classes():
    run("""
        from norn.kube.lazyimport import import_kube_config, import_without_init
        import_without_init('kubernetes')
        kube_config = import_kube_config()
        from requests_oauthlib.oauth2_session import OAuth2Session
        assert isinstance(kube_config.OAuth2Session(client_id='norn'), OAuth2Session)
        from oauthlib.oauth2.rfc6749.errors import InvalidClientIdError
        assert kube_config.oauthlib.oauth2.rfc6749.errors.InvalidClientIdError is InvalidClientIdError
        import requests_oauthlib
        assert requests_oauthlib.OAuth2Session is OAuth2Session  # the placeholder is gone
        import oauthlib.oauth2
        assert oauthlib.oauth2.WebApplicationClient  # the real __init__ ran on demand
    """)


def test_after_the_real_packages_a_plain_import():
    run("""
        import requests_oauthlib
        from norn.kube.lazyimport import import_kube_config
        kube_config = import_kube_config()
        assert kube_config.OAuth2Session is requests_oauthlib.OAuth2Session
    """)


def test_a_client_wanting_more_than_the_placeholder_gets_the_plain_import():
    run("""
        import norn.kube.lazyimport as lazy
        lazy._PLACEHOLDERS['requests_oauthlib'].clear()  # as if kube_config imported a name the placeholder lacks
        lazy.import_without_init('kubernetes')
        kube_config = lazy.import_kube_config()
        import requests_oauthlib
        assert kube_config.OAuth2Session is requests_oauthlib.OAuth2Session
    """)


def test_the_client_still_parses_dates_with_the_real_parser():
    run("""
        import datetime, json
        from norn.kube.lazyimport import import_kube_config, import_without_init
        import_without_init('kubernetes')
        import_kube_config()
        from kubernetes.client.api_client import ApiClient
        when = ApiClient().deserialize(json.dumps('2024-01-02T03:04:05Z'), 'datetime', 'application/json')
        assert when == datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc), when
        import dateutil.parser
        assert type(dateutil.parser.parser).__name__ == 'type'  # the real module, not the placeholder
    """)


def test_a_missing_package_is_the_plain_import_error():
    # oauthlib absent (a broken install): norn says what the plain import says, no error of its own.
    run("""
        import importlib.abc, sys

        class Missing(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split('.')[0] == 'oauthlib':
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)

        sys.meta_path.insert(0, Missing())
        from norn.kube.lazyimport import import_kube_config, import_without_init
        import_without_init('oauthlib.oauth2')  # no spec to find: nothing registered, no error
        assert 'oauthlib.oauth2' not in sys.modules
        import_without_init('kubernetes')
        try:
            import_kube_config()
        except ModuleNotFoundError as exc:
            assert exc.name == 'oauthlib', exc
        else:
            raise AssertionError('imported without oauthlib')
    """)


def test_a_client_reading_a_name_the_placeholder_lacks_at_import_gets_the_plain_import():
    # As if kube_config did `dateutil.parser.isoparse` while it imports: an AttributeError on the
    # placeholder, where a `from ... import` would have been an ImportError.
    run("""
        import importlib, importlib.abc, importlib.machinery, sys

        class Wrapped(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name != 'kubernetes.config.kube_config':
                    return None
                spec = importlib.machinery.PathFinder.find_spec(name, path)
                real = spec.loader

                class Loader(importlib.abc.Loader):
                    def create_module(self, spec):
                        return None

                    def exec_module(self, module):
                        importlib.import_module('dateutil.parser').isoparse
                        real.exec_module(module)

                spec.loader = Loader()
                return spec

        sys.meta_path.insert(0, Wrapped())
        from norn.kube.lazyimport import import_kube_config, import_without_init
        import_without_init('kubernetes')
        kube_config = import_kube_config()
        import dateutil.parser
        assert callable(kube_config.KubeConfigLoader) and callable(dateutil.parser.isoparse)
    """)


def test_connect_loads_neither_multiprocessing_nor_the_model_table_and_both_still_work(tmp_path):
    # kubernetes 37: client/configuration.py imports multiprocessing for cpu_count (the default pool
    # size), client/api_client.py multiprocessing.pool.ThreadPool (async_req only) and the models package.
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:1'}}]\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
    )
    run(f"""
        import os, sys
        from norn.kube.connect import connect
        connect({str(kubeconfig)!r}, None)
        loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('multiprocessing', 'pickle'))
        assert not loaded, loaded
        import kubernetes.client.models as models
        assert '_exports' not in vars(models)  # registered bare: its name table did not run
        from kubernetes.client import ApiClient, Configuration
        assert Configuration().connection_pool_maxsize == os.cpu_count() * 5
        from multiprocessing.pool import ThreadPool
        assert isinstance(ApiClient().pool, ThreadPool)
        assert models.V1Pod.__name__ == 'V1Pod'  # the real __init__ runs on demand
    """)
