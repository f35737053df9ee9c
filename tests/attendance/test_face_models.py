"""The installation's own face model, with real faces: 50 LFW students the shipped head never
trained on (their backbone vectors cached on disk, see tests/support/school.py), a Siamese head
trained on 40 of them and evaluated on 10 held out, promoted while a class photo is processed,
rolled back; consent withdrawn flags the model; a worse challenger is refused."""

from __future__ import annotations

import numpy as np
import pytest

from attendance.errors import Conflict
from attendance.models import (
    AuditEvent,
    Capture,
    FaceModel,
    Job,
    ReferenceEmbedding,
    ReferencePhoto,
    embedding_to_bytes,
)
from attendance.services import captures as capture_services
from attendance.services import face_models as model_services
from attendance.services import students as student_services
from attendance.services.jobs import job_run
from facerec.model import (
    DEFAULT_METADATA,
    MODELS_DIR,
    Head,
    backbone_dim,
    backbone_key,
    backbone_signature,
    metadata_path,
)
from tests.support.faces import LFW, lfw_or_skip, lfw_photo, make_classroom, model_or_skip
from tests.support.school import backbone_vectors, school_people

pytestmark = pytest.mark.datasets


@pytest.fixture
def small_training(monkeypatch):
    from facerec.training.siamese import TrainConfig

    config = TrainConfig(epochs=3, pairs_per_epoch=3000, validation_people=0.15)
    monkeypatch.setattr(model_services, "TRAIN_CONFIG", config)


@pytest.fixture
def school(admin_user, alice):
    """50 consented students of alice's course, 4 ready reference photos each, embedded by the
    shipped model, which serves."""
    lfw_or_skip()
    model_or_skip()
    people = school_people(50, LFW)
    files = [f for fs in people.values() for f in fs]
    vectors = iter(backbone_vectors(LFW, files))
    room = make_classroom(admin_user, alice, list(people), photos=())
    for person, student in room.students.items():
        for _ in people[person]:
            photo = ReferencePhoto.objects.create(
                student=student,
                status=ReferencePhoto.Status.READY,
                backbone_embedding=embedding_to_bytes(next(vectors)),
                backbone_key=backbone_key(),
            )
            model_services.photo_embeddings_write(
                photo=photo, backbone=np.frombuffer(photo.backbone_embedding, np.float32)
            )
    return room


def projected_head(directions: int) -> Head:
    """A head that keeps only ``directions`` random directions of the serving backbones' space:
    a model that suits this school badly (with FaceNet's 512: 32 decide about 85% of held-out
    faces rightly, the shipped head 97-100%; 16 about 75%, and strangers marked)."""
    dim = backbone_dim()
    q = np.linalg.qr(np.random.default_rng(3).normal(size=(dim, directions)))[0]
    return Head([((q @ q.T - np.eye(dim)).astype(np.float32), np.zeros(dim, np.float32))])


def trained_model(version: str, head) -> FaceModel:
    shipped = model_services.serving_model()
    return FaceModel.objects.create(
        version=version,
        source=FaceModel.Source.TRAINED,
        base_version=shipped.version,
        backbone_signature=shipped.backbone_signature,
        threshold=shipped.threshold,
        review_threshold=shipped.review_threshold,
        weights=head.to_bytes(),
    )


def serve_a_poor_model() -> FaceModel:
    """An earlier school model that suits this school badly, made to serve (every photo embedded
    by it first, as a promotion does)."""
    poor = trained_model("school-siamese-poor", projected_head(32))
    job = Job.objects.create(kind=Job.Kind.FACE_MODEL_SWITCH, face_model=poor)
    job_run(job_id=job.pk)
    assert model_services.serving_model() == poor
    return poor


def train(admin_user, **options) -> FaceModel:
    job = model_services.face_model_train_start(by=admin_user, **options)
    job = job_run(job_id=job.pk)
    assert job.state == "done", job.failure_reason
    return FaceModel.objects.get(pk=job.face_model_id)


def test_the_shipped_model_is_registered_and_serves_at_first_use(school):
    import facerec

    shipped = model_services.serving_model()
    assert (shipped.version, shipped.source, shipped.serving) == (
        facerec.model_version(),
        "shipped",
        True,
    )
    assert ReferenceEmbedding.objects.filter(model_version=shipped.version).count() == 200


def test_a_head_trained_on_40_students_is_promoted_while_a_capture_runs_then_rolled_back(
    school, admin_user, small_training, face_models
):
    from tests.support.faces import class_photo_bytes

    poor = serve_a_poor_model()
    model = train(admin_user, heldout=10)

    # Trained on 40 students and their 160 photos, evaluated on the 10 others.
    assert (model.state, model.students, model.photos, model.class_faces) == ("ready", 40, 160, 0)
    assert model.heldout_students.count() == 10
    assert not set(model.heldout_students.all()) & set(model.trained_students.all())
    evaluation = model.evaluation
    assert evaluation["champion_version"] == poor.version
    for side in ("challenger", "champion"):
        assert evaluation[side]["students"] == 10
        assert evaluation[side]["faces"] == 60  # 2 x (5 x 2 enrolled + 5 x 4 strangers)
    assert evaluation["promotable"], evaluation["reasons"]
    assert evaluation["challenger"]["accuracy"] > evaluation["champion"]["accuracy"]

    # Promote while a class photo is processed: the capture started on the poor model and
    # finishes on it, while every reference photo is embedded by the new one and it serves.
    people = [p for p in school.students if lfw_photo(p, 5).exists()][:4]
    capture = capture_services.capture_create(
        session=school.session,
        image_file=_upload(class_photo_bytes(people, number=5)),
        source="upload",
        by=admin_user,
    )
    switch = model_services.face_model_promote_start(model=model, by=admin_user)
    switched = []
    capture_services.after_model_chosen = lambda _: switched.append(job_run(job_id=switch.pk))
    try:
        capture_services.capture_process(capture_id=capture.pk)
    finally:
        capture_services.after_model_chosen = None
    capture = Capture.objects.get(pk=capture.pk)
    assert switched[0].state == "done"
    assert (capture.state, capture.model_version) == ("done", poor.version)
    assert model_services.serving_model().version == model.version
    assert ReferenceEmbedding.objects.filter(model_version=model.version).count() == 200
    assert set(ReferencePhoto.objects.values_list("model_version", flat=True)) == {model.version}

    # The next class photo uses the new model.
    again = capture_services.capture_create(
        session=school.session,
        image_file=_upload(class_photo_bytes(people, number=5, seed=5)),
        source="upload",
        by=admin_user,
    )
    again = capture_services.capture_process(capture_id=again.pk)
    assert again.model_version == model.version
    auto = set(again.faces.filter(decision="auto").values_list("student__full_name", flat=True))
    assert auto and auto <= {p.replace("_", " ") for p in people}

    # Roll back the same way: the poor model serves again, its embeddings kept all along.
    rollback = model_services.face_model_rollback_start(by=admin_user)
    assert job_run(job_id=rollback.pk).state == "done"
    assert model_services.serving_model().version == poor.version
    assert set(ReferencePhoto.objects.values_list("model_version", flat=True)) == {poor.version}
    switches = AuditEvent.objects.filter(action="face_model_switched").order_by("pk")
    assert [(e.detail["why"], e.detail["to"]) for e in switches] == [
        ("promote", poor.version),  # the test's own set-up
        ("promote", model.version),
        ("rollback", poor.version),
    ]


def test_a_model_trained_with_a_student_who_withdraws_consent_is_flagged_and_not_promoted(
    school, admin_user, small_training
):
    serve_a_poor_model()
    model = train(admin_user, heldout=10)
    trained = model.trained_students.first()
    student_services.consent_withdraw(student=trained, by=admin_user)

    model.refresh_from_db()
    assert model.needs_retraining
    assert "consent was withdrawn" in model.retraining_reason
    with pytest.raises(Conflict, match="must be retrained"):
        model_services.face_model_promote_start(model=model, by=admin_user)
    # The next model never sees them: their photos are gone, and they are in neither set.
    x, labels, counts = model_services.training_data(include_class_faces=True)
    assert trained.pk not in set(labels.tolist())
    assert counts == {"photos": 196, "class_faces": 0}


def test_a_challenger_worse_than_the_serving_model_is_refused_with_the_reason(
    school, admin_user, client
):
    from django.urls import reverse

    shipped = model_services.serving_model()
    worse = trained_model("school-siamese-worse", projected_head(16))
    worse.heldout_students.set(list(school.students.values())[:10])
    worse = model_services.face_model_evaluate(model=worse)

    assert not worse.evaluation["promotable"]
    challenger, champion = worse.evaluation["challenger"], worse.evaluation["champion"]
    assert challenger["accuracy"] < champion["accuracy"]
    assert challenger["precision"] < champion["precision"]
    assert [r.split(":")[0] for r in worse.evaluation["reasons"]] == [
        "less precise",
        "not more accurate",
    ]
    with pytest.raises(Conflict, match="not better than the serving model"):
        model_services.face_model_promote_start(model=worse, by=admin_user)
    client.force_login(admin_user)
    page = client.get(reverse("attendance:face_models")).content.decode()
    assert "not more accurate" in page
    assert model_services.serving_model() == shipped


def test_a_model_trained_on_other_backbones_is_refused_evaluation_with_the_reason(
    admin_user, client, monkeypatch
):
    """A deployment that changes its backbones (FaceNet alone to FaceNet + dlib, or back) leaves
    the heads trained here on the old vectors, which cannot embed the new ones."""
    model_or_skip()
    two_backbones = MODELS_DIR / "facenet-dlib-siamese.json"
    other = DEFAULT_METADATA if metadata_path() == two_backbones else two_backbones
    with monkeypatch.context() as before_the_upgrade:
        before_the_upgrade.setenv("ROLLCALL_FACE_MODEL", str(other))
        signature, dim = backbone_signature(), backbone_dim()
    assert dim != backbone_dim()
    old = FaceModel.objects.create(
        version="school-siamese-old-backbones",
        source=FaceModel.Source.TRAINED,
        backbone_signature=signature,
        threshold=1.0,
        review_threshold=1.1,
        weights=Head.identity(dim).to_bytes(),
        details={"dim": dim},
    )

    with pytest.raises(Conflict, match="cannot serve with this deployment's backbones"):
        model_services.face_model_evaluate(model=old)
    client.force_login(admin_user)
    answer = client.post(f"/api/face-models/{old.pk}/evaluate/")
    assert (answer.status_code, answer.json()["error"]["code"]) == (409, "model_unusable")
    old.refresh_from_db()
    assert old.evaluated_at is None


def _upload(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("class.jpg", data, content_type="image/jpeg")


def test_only_admins_reach_the_face_model_page_and_api(client, alice, admin_user):
    from django.urls import reverse

    client.force_login(alice)
    assert client.get(reverse("attendance:face_models")).status_code == 404
    assert client.post(reverse("attendance:face_model_train")).status_code == 404
    assert client.get("/api/face-models/").status_code == 403
    assert client.post("/api/face-models/train/").status_code == 403
    assert not Job.objects.exists()

    client.force_login(admin_user)
    page = client.get(reverse("attendance:face_models")).content.decode()
    import facerec

    assert f'id="serving-version">{facerec.model_version()}<' in page
    listed = client.get("/api/face-models/").json()["results"]
    assert [(m["version"], m["source"], m["serving"]) for m in listed] == [
        (facerec.model_version(), "shipped", True)
    ]


def test_training_with_too_few_students_fails_with_the_reason_and_nothing_changes(
    admin_user, alice, client
):
    lfw_or_skip()
    model_or_skip()
    shipped = model_services.serving_model()
    client.force_login(admin_user)
    answer = client.post("/api/face-models/train/", {"epochs": 1}, content_type="application/json")
    assert answer.status_code == 202
    job = job_run(job_id=answer.json()["id"])
    assert job.state == "failed"
    assert "Only 0 students have two or more photos" in job.failure_reason
    assert FaceModel.objects.get(pk=job.face_model_id).state == "failed"
    assert model_services.serving_model() == shipped


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_worker_trains_a_model_from_the_api_with_live_progress(
    school, admin_user, client, celery_worker
):
    from tests.support.faces import wait_until

    client.force_login(admin_user)
    answer = client.post("/api/face-models/train/", {"epochs": 1}, content_type="application/json")
    assert answer.status_code == 202
    url = answer["Location"]
    job = wait_until(
        lambda: (lambda j: j if j["state"] in ("done", "failed") else None)(client.get(url).json()),
        timeout=600,
        what="the training job",
    )
    assert job["state"] == "done", job["failure_reason"]
    assert [line["where"] for line in job["report"]] == ["data", "epoch 1"]
    model = FaceModel.objects.get(jobs__pk=job["id"])
    assert (model.state, model.students, model.heldout_students.count()) == ("ready", 40, 10)
    assert model.evaluation["champion_version"] == model_services.serving_model().version
