"""Pure drift judgement: which differences are norn's, and what the spec digest covers."""


from norn.infraspec.digest import spec_digest
from norn.infraspec.model import Infraspec
from norn.operations.drift import edited_fields


def test_only_fields_norn_set_count():
    want = {"metadata": {"labels": {"app": "web"}}, "spec": {"replicas": 2, "ports": [{"name": "http", "port": 80}]}}
    have = {
        "metadata": {"labels": {"app": "web", "extra": "x"}, "uid": "u"},
        "spec": {"replicas": 2, "ports": [{"name": "http", "port": 80, "protocol": "TCP"}], "clusterIP": "10.0.0.1"},
    }
    assert edited_fields(want, have) == []
    have["spec"]["ports"][0]["port"] = 81
    assert edited_fields(want, have) == [("spec.ports[http].port", 80, 81)]


def test_the_image_the_deploy_pipeline_sets_is_not_drift():
    want = {"containers": [{"name": "web", "image": "web:latest", "imagePullPolicy": "Never", "args": ["a"]}]}
    have = {"containers": [{"name": "web", "image": "r.example.com/web:9", "imagePullPolicy": "Always", "args": ["b"]}]}
    assert edited_fields(want, have) == [("containers[web].args[0]", "a", "b")]


def test_a_list_of_another_length_is_one_edit():
    assert edited_fields({"env": [{"name": "A"}]}, {"env": [{"name": "A"}, {"name": "B"}]}) == [
        ("env", [{"name": "A"}], [{"name": "A"}, {"name": "B"}])
    ]


def test_the_digest_covers_what_forge_acts_on_only():
    base = {"app": "web", "role": "worker", "replicas": 2}
    digest = spec_digest(Infraspec.model_validate(base))
    assert spec_digest(Infraspec.model_validate({**base, "build": {"dockerfile": "Other"}})) == digest
    assert spec_digest(Infraspec.model_validate({**base, "services": {"kv": {"namespace": "x"}}})) == digest
    assert spec_digest(Infraspec.model_validate({**base, "replicas": 3})) != digest
    assert spec_digest(Infraspec.model_validate({**base, "services": {"postgres": {"database": "d"}}})) != digest
    assert digest.startswith("sha256:")
