"""The state store contract: the same tests for every backend.

``local`` keeps JSON files in a folder; ``kubernetes`` keeps Secrets and Leases
on the stand-in API server, reached by the real client through a kubeconfig.
Each ``open()`` is a new store, as another process or machine would open it.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from norn.errors import Busy, LostRace, StateError
from norn.kube import connect as kube_connect
from norn.state import ForgeState, ForgeStatus, StepRecord
from norn.store import StateStore
from norn.store.document import encode
from norn.store.kubernetes import KubernetesStore, labels, secret_name
from norn.store.local import LocalStore


@dataclass
class Backend:
    name: str
    open: Callable[[], StateStore]
    raw: Callable[[str], bytes | None]  # the app's stored document, None when there is none
    put_raw: Callable[[str, bytes], None]  # store bytes as the app's document, bypassing the store


@pytest.fixture(params=["local", "kubernetes"])
def backend(request, tmp_path) -> Backend:
    if request.param == "local":
        folder = tmp_path / "state"

        def raw(app: str) -> bytes | None:
            path = folder / f"{app}.json"
            return path.read_bytes() if path.exists() else None

        def put_raw(app: str, data: bytes) -> None:
            folder.mkdir(exist_ok=True)
            (folder / f"{app}.json").write_bytes(data)

        return Backend("local", lambda: LocalStore(folder), raw, put_raw)

    server = request.getfixturevalue("kubeapi")

    def raw(app: str) -> bytes | None:
        secret = server.get_object("secrets", "default", secret_name(app))
        return base64.b64decode(secret["data"]["state.json"]) if secret else None

    def put_raw(app: str, data: bytes) -> None:
        server.remove("secrets", "default", secret_name(app))
        metadata = {"name": secret_name(app), "namespace": "default", "labels": labels(app)}
        server.seed({"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "data": {"state.json": base64.b64encode(data).decode()}})

    def open_store() -> StateStore:
        return KubernetesStore(lambda: kube_connect.connect(str(server.kubeconfig), None), "default", 60)

    return Backend("kubernetes", open_store, raw, put_raw)


def a_state(app: str = "web", status: ForgeStatus = ForgeStatus.FORGED, finished: str = "10:00:01") -> ForgeState:
    return ForgeState(
        app,
        status,
        operation="forge",
        steps=[StepRecord("create-deployment", "completed", "created Deployment default/web", 12)],
        resources={"namespace": "default", "deployment": app},
        started_at="2026-11-27T10:00:00.000Z",
        finished_at=f"2026-11-27T{finished}.000Z",
    )


def test_an_app_without_state_loads_as_none(backend):
    assert backend.open().load("web") is None


def test_a_saved_state_reads_back_the_same_elsewhere(backend):
    backend.open().save(a_state())
    assert backend.open().load("web") == a_state()


def test_the_stored_document_is_the_state_json(backend):
    backend.open().save(a_state())
    assert backend.raw("web") == encode(a_state())
    document = json.loads(backend.raw("web"))
    assert {"app", "status", "steps", "resources", "error", "startedAt", "finishedAt"} <= set(document)
    assert document["steps"] == [
        {"step": "create-deployment", "status": "completed", "output": "created Deployment default/web", "durationMs": 12}
    ]


def test_a_save_after_a_load_replaces_the_record(backend):
    backend.open().save(a_state())
    store = backend.open()
    state = store.load("web")
    state.move_to(ForgeStatus.TEARING_DOWN)
    store.save(state)
    store.save(state)  # and again: a store follows its own writes
    assert backend.open().load("web").status == ForgeStatus.TEARING_DOWN


def test_a_save_from_a_stale_read_is_refused_and_the_other_write_kept(backend):
    backend.open().save(a_state())
    first, second = backend.open(), backend.open()
    mine, theirs = first.load("web"), second.load("web")
    theirs.error = "theirs"
    second.save(theirs)
    mine.error = "mine"
    with pytest.raises(LostRace) as err:
        first.save(mine)
    assert err.value.exit_code == 3 and "nothing was overwritten" in err.value.message
    assert backend.open().load("web").error == "theirs"


def test_two_first_saves_race_and_the_second_is_refused(backend):
    first, second = backend.open(), backend.open()
    assert first.load("web") is None and second.load("web") is None
    second.save(a_state(finished="10:00:02"))
    with pytest.raises(LostRace):
        first.save(a_state())
    assert backend.open().load("web") == a_state(finished="10:00:02")


def test_list_returns_every_app_sorted_by_name(backend):
    assert backend.open().list() == ([], [])
    store = backend.open()
    for app in ("web", "api", "nightly"):
        store.save(a_state(app))
    states, problems = backend.open().list()
    assert [s.app for s in states] == ["api", "nightly", "web"] and problems == []
    assert states[0] == a_state("api")


@pytest.mark.parametrize("content", [b"{broken", b"[]", b'{"app": "web"}', b'{"app": "web", "status": "bogus"}', b""])
def test_an_unreadable_record_is_refused_naming_where_and_never_overwritten(backend, content):
    backend.put_raw("web", content)
    store = backend.open()
    with pytest.raises(StateError) as err:
        store.load("web")
    assert store.where("web") in err.value.message and err.value.exit_code == 2 and err.value.hint
    with pytest.raises(LostRace):
        store.save(a_state())
    assert backend.raw("web") == content


def test_a_record_holding_another_apps_state_is_refused(backend):
    backend.put_raw("web", encode(a_state("api")))
    with pytest.raises(StateError) as err:
        backend.open().load("web")
    assert "api" in err.value.message


def test_list_reports_an_unreadable_record_beside_the_good_ones(backend):
    backend.open().save(a_state("api"))
    backend.put_raw("web", b"garbage")
    store = backend.open()
    states, problems = store.list()
    assert [s.app for s in states] == ["api"]
    assert len(problems) == 1 and store.where("web") in problems[0]


def test_where_names_the_apps_record(backend):
    assert "web" in backend.open().where("web")


def test_a_second_lock_on_the_same_app_is_busy_naming_the_holder(backend):
    with backend.open().lock("web"):
        with pytest.raises(Busy) as err:
            with backend.open().lock("web"):
                pass
    assert err.value.exit_code == 3
    assert "operation already in progress (" in err.value.message
    assert str(os.getpid()) in err.value.message and " since 20" in err.value.message


def test_locks_of_different_apps_do_not_collide(backend):
    with backend.open().lock("web"), backend.open().lock("api"):
        pass


def test_a_lock_is_free_again_after_the_run_even_when_it_failed(backend):
    with backend.open().lock("web"):
        pass
    with pytest.raises(RuntimeError):
        with backend.open().lock("web"):
            raise RuntimeError("the run failed")
    with backend.open().lock("web"):
        pass


def test_an_app_is_running_while_a_run_holds_its_lock(backend):
    store = backend.open()
    assert not store.is_running("web")
    with backend.open().lock("web"):
        assert store.is_running("web") and not store.is_running("api")
    assert not store.is_running("web")


def test_a_run_holding_the_lock_loads_and_saves(backend):
    store = backend.open()
    with store.lock("web"):
        assert store.load("web") is None
        store.save(a_state())
        state = store.load("web")
        state.error = "later"
        store.save(state)
    assert backend.open().load("web").error == "later"


# --- delete (norn forget) and moved records (norn state migrate) ----------------------------------


def test_a_deleted_record_is_gone_for_every_store(backend):
    backend.open().save(a_state())
    backend.open().save(a_state("api"))
    store = backend.open()
    with store.lock("web"):
        store.load("web")
        store.delete("web")
    assert backend.raw("web") is None and backend.open().load("web") is None
    assert [s.app for s in backend.open().list()[0]] == ["api"]
    store.save(a_state())  # the store follows its own delete: a first save again
    assert backend.open().load("web") == a_state()


def test_a_delete_from_a_stale_read_is_refused_and_the_other_write_kept(backend):
    """The kubernetes backend sends the resourceVersion it read as the DELETE's precondition; the API
    server answers 409 when it differs (kubernetes staging/src/k8s.io/apiserver/pkg/storage/interfaces.go,
    Preconditions.Check: an InvalidObjError, which pkg/storage/errors/storage.go, InterpretDeleteError,
    turns into NewConflict). The local backend compares the file's digest, as a save does."""
    backend.open().save(a_state())
    first, second = backend.open(), backend.open()
    first.load("web")
    theirs = second.load("web")
    theirs.error = "theirs"
    second.save(theirs)
    with pytest.raises(LostRace) as err:
        first.delete("web")
    assert err.value.exit_code == 3 and "changed since this run read it" in err.value.message
    assert backend.open().load("web").error == "theirs"


def test_a_moved_record_keeps_where_it_went(backend):
    backend.open().save(a_state().moved("kubernetes"))
    loaded = backend.open().load("web")
    assert loaded.status == ForgeStatus.MOVED and loaded.moved_to == "kubernetes"
    assert json.loads(backend.raw("web"))["movedTo"] == "kubernetes"
    assert loaded.to_status_json()["movedTo"] == "kubernetes"
    assert "movedTo" not in a_state().to_status_json()  # the status shape is unchanged for the others
