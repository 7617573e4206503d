"""The state machine of the seed's diagram."""

import pytest

from norn.errors import StateError
from norn.state import ForgeState
from norn.state import ForgeStatus as S


@pytest.mark.parametrize(
    "start, target",
    [
        (S.UNFORGED, S.FORGING),
        (S.FORGING, S.FORGED),
        (S.FORGING, S.FORGE_FAILED),
        (S.FORGE_FAILED, S.FORGING),
        (S.FORGED, S.TEARING_DOWN),
        (S.FORGED, S.FORGING),  # an in-place update
        (S.FORGE_FAILED, S.TEARING_DOWN),
        (S.TEARING_DOWN, S.UNFORGED),
        (S.TEARING_DOWN, S.FORGE_FAILED),
        (S.TEARING_DOWN, S.FORGING),
    ],
)
def test_allowed_transitions(start, target):
    state = ForgeState("web", start)
    state.move_to(target)
    assert state.status == target


@pytest.mark.parametrize(
    "start, target",
    [(S.UNFORGED, S.FORGED), (S.UNFORGED, S.TEARING_DOWN), (S.FORGED, S.UNFORGED)],
)
def test_forbidden_transitions(start, target):
    with pytest.raises(StateError):
        ForgeState("web", start).move_to(target)


def test_status_json_has_exactly_the_contract_keys():
    data = ForgeState("web").to_status_json()
    assert set(data) == {"app", "status", "steps", "resources", "error", "startedAt", "finishedAt"}
    assert data["status"] == "unforged"


def test_the_spec_digest_is_stored_but_not_part_of_the_status_contract():
    state = ForgeState("web", spec_digest="sha256:abc")
    assert state.to_json()["specDigest"] == "sha256:abc"
    assert "specDigest" not in state.to_status_json()
    assert ForgeState.from_json(state.to_json()).spec_digest == "sha256:abc"


def test_a_moved_record_says_where_it_went_and_nothing_else_may_follow_it():
    from norn.state import ForgeState, ForgeStatus

    state = ForgeState("web", ForgeStatus.FORGED).moved("local")
    assert state.to_status_json()["status"] == "moved" and state.to_status_json()["movedTo"] == "local"
    assert ForgeState.from_json(state.to_json()) == state
    with pytest.raises(StateError):
        state.move_to(ForgeStatus.FORGING)  # a run refuses it before; the state machine would too


@pytest.mark.parametrize("document", [
    {"app": "web", "status": "moved"},  # where to?
    {"app": "web", "status": "moved", "movedTo": "s3"},
])
def test_a_moved_record_without_a_backend_is_unreadable(document):
    from norn.state import ForgeState

    with pytest.raises((ValueError, TypeError)):
        ForgeState.from_json(document)
