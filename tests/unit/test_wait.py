"""The rollout verdict kubectl gives, the stuck-pod test, and --timeout durations."""

import pytest

from norn.errors import UsageError
from norn.kube.rollout import parse_duration, rollout_status, stuck_pod


def deployment(generation=1, desired=2, **status):
    return {"metadata": {"name": "web", "generation": generation}, "spec": {"replicas": desired}, "status": status}


@pytest.mark.parametrize(
    "obj, done, message",
    [
        (deployment(2, observedGeneration=1), False, "waiting for the Deployment controller to observe the spec"),
        (deployment(observedGeneration=1, updatedReplicas=1, replicas=2), False, "1 of 2 new replicas updated"),
        (deployment(observedGeneration=1, updatedReplicas=2, replicas=3), False, "1 old replicas pending termination"),
        (deployment(observedGeneration=1, updatedReplicas=2, replicas=2, availableReplicas=1), False,
         "1 of 2 updated replicas available"),
        (deployment(observedGeneration=1, updatedReplicas=2, replicas=2, availableReplicas=2), True, "rolled out"),
        (deployment(desired=0, observedGeneration=1), True, "rolled out"),
    ],
)
def test_rollout_status_judges_like_kubectl(obj, done, message):
    verdict = rollout_status(obj)
    assert (verdict.done, verdict.message, verdict.deadline_exceeded) == (done, message, False)


def test_progress_deadline_exceeded_is_its_own_verdict():
    stuck = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
    verdict = rollout_status(deployment(observedGeneration=1, conditions=[stuck]))
    assert verdict.deadline_exceeded and not verdict.done


def test_only_states_that_do_not_fix_themselves_are_stuck():
    def pod(reason, deleting=False):
        meta = {"name": reason, **({"deletionTimestamp": "now"} if deleting else {})}
        return {"metadata": meta, "status": {"containerStatuses": [{"name": "c", "state": {"waiting": {"reason": reason}}}]}}

    assert stuck_pod([pod("ContainerCreating"), pod("CrashLoopBackOff", deleting=True)]) is None
    found = stuck_pod([pod("ContainerCreating"), pod("ErrImagePull")])
    assert found[0]["metadata"]["name"] == "ErrImagePull" and found[1:] == ("c", "ErrImagePull")


@pytest.mark.parametrize("text, seconds", [("90", 90), ("90s", 90), ("5m", 300), ("1h30m", 5400), ("2m5s", 125)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "5x", "0", "0s", "m"])
def test_bad_durations(text):
    with pytest.raises(UsageError):
        parse_duration(text)
