"""The installation's face models: the shipped one, Siamese heads trained here, and which serves.

- ``serving_model`` answers which version embeds and matches right now (the shipped model is
  registered at first use, and again when a deployment ships another one).
- ``face_model_train_start`` starts a background job that fine-tunes the serving head on the
  consented students' reference photos (and, where asked, faces teachers confirmed in class
  photos), holding some students out, then evaluates it against the serving model on them.
- ``face_model_promote_start`` / ``face_model_rollback_start`` start a job that embeds every
  reference photo with the chosen version while the serving one keeps serving, then switches in
  one transaction. Captures already started finish on the version they started with: each one
  reads the gallery of its own version, and embeddings are kept per version.
- A student's withdrawn consent marks every model trained with their photos for retraining.

Heavy work (Keras) runs in the worker; reading the version or a head's weights never imports
TensorFlow.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict

import numpy as np
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from attendance.errors import Conflict, InvalidInput
from attendance.models import (
    AuditEvent,
    DetectedFace,
    FaceModel,
    Job,
    ReferenceEmbedding,
    ReferencePhoto,
    Student,
    embedding_from_bytes,
    embedding_to_bytes,
)
from attendance.services.audit import audit_event

logger = logging.getLogger(__name__)
Ready = ReferencePhoto.Status.READY
HUMAN_DECISIONS = (DetectedFace.Decision.CONFIRMED, DetectedFace.Decision.CORRECTED)
# Share of the students (with 2+ photos) held out of training to evaluate on, and the fewest.
HELDOUT_SHARE = 0.2
MIN_HELDOUT = 4
# Photos embedded per transaction while a model is being switched to.
SWITCH_BATCH = 100

_heads: dict[str, object] = {}
_heads_lock = threading.Lock()


# --- which model serves -------------------------------------------------------------------------


def shipped_register() -> FaceModel:
    """The FaceModel row of the model shipped with this deployment (created at first use)."""
    import facerec
    from facerec.model import backbone_signature, metadata

    info = facerec.model_info()
    model, _ = FaceModel.objects.get_or_create(
        version=info.version,
        defaults={
            "source": FaceModel.Source.SHIPPED,
            "state": FaceModel.State.READY,
            "threshold": info.threshold,
            "review_threshold": info.review_threshold,
            "match_margin": float(metadata().get("match_margin", 0.05)),
            "base_version": info.version,
            "backbone_signature": backbone_signature(),
            "trained_at": None,
            "details": {"trained_on": info.trained_on, "metrics": info.metrics},
        },
    )
    return model


def serving_model() -> FaceModel:
    """The version that embeds and matches now. With none chosen yet, the shipped model. A
    deployment that ships another model replaces a shipped serving one; a trained head whose
    backbones the deployment no longer has cannot serve, and the shipped model takes over."""
    from facerec.model import backbone_signature

    serving = FaceModel.objects.filter(serving=True).first()
    if serving is not None and _loadable(serving, backbone_signature()):
        return serving
    with transaction.atomic():
        shipped = shipped_register()
        serving = FaceModel.objects.select_for_update().filter(serving=True).first()
        if serving is not None and _loadable(serving, backbone_signature()):
            return serving
        if serving is not None:
            serving.serving = False
            serving.save(update_fields=["serving"])
            if serving.is_trained:
                _flag(FaceModel.objects.filter(pk=serving.pk), "the deployment's backbones changed")
        shipped.serving, shipped.serving_since, shipped.previous = True, timezone.now(), serving
        shipped.save(update_fields=["serving", "serving_since", "previous"])
        _mirror_serving_embeddings(shipped.version)
        return shipped


def _vector(raw: bytes | memoryview | None) -> np.ndarray:
    vector = embedding_from_bytes(raw)
    assert vector is not None
    return vector


def _loadable(model: FaceModel, signature: str) -> bool:
    """Whether this process can embed with ``model``."""
    import facerec

    if model.source == FaceModel.Source.SHIPPED:
        return model.version == facerec.model_version()
    return model.state == FaceModel.State.READY and model.backbone_signature == signature


def model_head(model: FaceModel):
    """The ``facerec.model.Head`` of ``model``, loaded once per process (heads are small)."""
    from facerec.model import Head, current_head

    if model.source == FaceModel.Source.SHIPPED:
        return current_head()
    with _heads_lock:
        if model.version not in _heads:
            if not model.weights:
                raise Conflict(f"Model {model.version} has no weights.", code="model_unusable")
            _heads[model.version] = Head.from_bytes(bytes(model.weights))
    return _heads[model.version]


def live_models() -> list[FaceModel]:
    """The versions every new reference photo is embedded for: the serving one, the one it
    replaced (a rollback needs no re-embedding), and any being switched to."""
    serving = serving_model()
    switching = Job.objects.filter(
        kind=Job.Kind.FACE_MODEL_SWITCH, state__in=[Job.State.QUEUED, Job.State.RUNNING]
    ).values_list("face_model_id", flat=True)
    ids = {serving.pk, *switching} | ({serving.previous_id} if serving.previous_id else set())
    from facerec.model import backbone_signature

    signature = backbone_signature()
    models = FaceModel.objects.filter(pk__in=ids).order_by("pk")
    return [m for m in models if _loadable(m, signature)]


def photo_embeddings_write(*, photo: ReferencePhoto, backbone: np.ndarray) -> None:
    """Store the photo's embedding by every live version (inside the caller's transaction)."""
    for model in live_models():
        vector = model_head(model)(backbone[None, :])[0]
        ReferenceEmbedding.objects.update_or_create(
            photo=photo,
            model_version=model.version,
            defaults={"embedding": embedding_to_bytes(vector)},
        )


def _mirror_serving_embeddings(version: str) -> None:
    """ReferencePhoto.embedding and .model_version show the serving version's embedding."""
    rows = ReferenceEmbedding.objects.filter(photo=OuterRef("pk"), model_version=version)
    ReferencePhoto.objects.filter(status=Ready, embeddings__model_version=version).update(
        embedding=Subquery(rows.values("embedding")[:1]), model_version=version
    )


# --- consent ------------------------------------------------------------------------------------


def face_models_flag_for_student(*, student: Student) -> int:
    """A student withdrew consent (or was deleted): every model trained with their photos is
    marked for retraining (their next model leaves them out). Returns how many were marked."""
    today = timezone.localdate().isoformat()
    return _flag(
        FaceModel.objects.filter(trained_students=student),
        f"trained with a student whose photo consent was withdrawn on {today}",
    )


def _flag(models, reason: str) -> int:
    count = 0
    for model in models.select_for_update():
        model.needs_retraining = True
        model.retraining_reason = "; ".join(filter(None, [model.retraining_reason, reason]))
        model.save(update_fields=["needs_retraining", "retraining_reason"])
        count += 1
    return count


# --- training -----------------------------------------------------------------------------------


@transaction.atomic
def face_model_train_start(
    *,
    by: User | None,
    include_class_faces: bool = False,
    heldout: int | None = None,
    epochs: int | None = None,
) -> Job:
    """Create the challenger's row (state "training") and enqueue its training job.

    heldout: students kept out of training to evaluate on (default HELDOUT_SHARE of them, at
    least MIN_HELDOUT); epochs: passes over the pairs (default the installation's settings)."""
    if Job.objects.filter(
        kind=Job.Kind.FACE_MODEL_TRAIN, state__in=[Job.State.QUEUED, Job.State.RUNNING]
    ).exists():
        raise Conflict("A face model is already being trained.", code="training_running")
    if heldout is not None and heldout < 2:
        raise InvalidInput("Hold out at least 2 students.", code="invalid_heldout")
    if epochs is not None and not 1 <= epochs <= 50:
        raise InvalidInput("Epochs must be from 1 to 50.", code="invalid_epochs")
    champion = serving_model()
    stamp = timezone.now()
    model = FaceModel.objects.create(
        version=f"training-{stamp:%Y%m%d%H%M%S%f}",
        source=FaceModel.Source.TRAINED,
        state=FaceModel.State.TRAINING,
        created_by=by,
        base_version=champion.base_version or champion.version,
        backbone_signature=champion.backbone_signature,
        threshold=champion.threshold,
        review_threshold=champion.review_threshold,
        match_margin=champion.match_margin,
        include_class_faces=include_class_faces,
    )
    job = Job.objects.create(
        kind=Job.Kind.FACE_MODEL_TRAIN,
        created_by=by,
        face_model=model,
        options={"heldout": heldout, "epochs": epochs, "start": champion.version},
    )
    _enqueue_after_commit(job)
    return job


def _enqueue_after_commit(job: Job) -> None:
    job.enqueued = None

    def enqueue() -> None:
        from attendance import tasks

        job.enqueued = tasks.enqueue_job(job.pk)

    transaction.on_commit(enqueue)


def training_data(*, include_class_faces: bool) -> tuple[np.ndarray, np.ndarray, dict]:
    """(x, labels, counts): backbone vectors and student ids of every consented, active
    student's ready reference photos, and (when asked) of faces teachers confirmed or assigned in
    class photos. Nothing of a student without consent is ever read."""
    from facerec.model import backbone_key

    consented = Q(student__consent_given_at__isnull=False, student__active=True)
    usable = Q(backbone_embedding__isnull=False, backbone_key=backbone_key())
    photos = list(
        ReferencePhoto.objects.filter(consented, usable, status=Ready)
        .order_by("student_id", "pk")
        .values_list("student_id", "backbone_embedding")
    )
    faces: list = []
    if include_class_faces:
        faces = list(
            DetectedFace.objects.filter(consented, usable, decision__in=HUMAN_DECISIONS)
            .order_by("student_id", "pk")
            .values_list("student_id", "backbone_embedding")
        )
    rows = photos + faces
    x = np.stack([_vector(raw) for _, raw in rows]) if rows else np.zeros((0, 0))
    labels = np.array([student for student, _ in rows], dtype=np.int64)
    return x.astype(np.float32), labels, {"photos": len(photos), "class_faces": len(faces)}


def training_config(epochs: int | None = None):
    """The training settings (TRAIN_CONFIG: a module-level hook, tests make runs smaller)."""
    from dataclasses import replace

    from facerec.training.installation import INSTALLATION_CONFIG

    config = TRAIN_CONFIG or INSTALLATION_CONFIG
    return replace(config, epochs=epochs) if epochs else config


# Tests set a smaller TrainConfig here; None means facerec's INSTALLATION_CONFIG.
TRAIN_CONFIG = None


def face_model_train(job: Job) -> None:
    """The training job's body (in the worker): collect, hold out, train, save, evaluate."""
    from facerec.training.installation import split_students, train_installation_head

    model = _job_model(job)
    champion = FaceModel.objects.get(version=job.options["start"])
    x, labels, counts = training_data(include_class_faces=model.include_class_faces)
    students = np.unique(labels)
    multi = int((np.unique(labels, return_counts=True)[1] >= 2).sum())
    heldout = job.options.get("heldout") or max(MIN_HELDOUT, round(multi * HELDOUT_SHARE))
    if multi - heldout < 4:
        raise InvalidInput(
            f"Only {multi} students have two or more photos: training needs at least "
            f"{heldout + 4} ({heldout} held out to evaluate on).",
            code="too_few_students",
        )
    # A fixed seed: the same students give the same held-out set, so models trained one after
    # another are compared on the same faces.
    train, held = split_students(labels, heldout=heldout, seed=0)
    _progress(job, 0, 1, "data", f"{len(students)} students, {len(labels)} faces")

    def progress(epoch: int, epochs: int, scores: dict) -> None:
        message = f"loss {scores['loss']:.4f}, validation accuracy {scores['accuracy']:.4f}"
        _progress(job, epoch, epochs + 1, f"epoch {epoch}", message)

    # Every training starts from the shipped head (trained on thousands of people), never
    # from an earlier school model: the installation's photos only fine-tune it.
    shipped = shipped_register()
    result = train_installation_head(
        x[train],
        labels[train],
        start=model_head(shipped),
        start_thresholds=(shipped.threshold, shipped.review_threshold),
        config=training_config(job.options.get("epochs")),
        progress=progress,
    )
    _save_trained(model, champion, result, labels, train, held, counts, x)
    face_model_evaluate(model=FaceModel.objects.get(pk=model.pk))


@transaction.atomic
def _save_trained(model, champion, result, labels, train, held, counts, x) -> None:
    model = FaceModel.objects.select_for_update().get(pk=model.pk)
    now = timezone.now()
    model.version = f"school-siamese-{now:%Y%m%d-%H%M%S}-{result.head.digest}"
    model.state, model.trained_at = FaceModel.State.READY, now
    model.weights = result.head.to_bytes()
    model.threshold, model.review_threshold = result.threshold, result.review_threshold
    trained_students = sorted(set(labels[train].tolist()))
    # Only students whose consent still stands are linked (one withdrawn meanwhile is flagged).
    model.students = len(trained_students)
    is_photo = np.arange(len(labels)) < counts["photos"]
    model.photos = int((train & is_photo).sum())
    model.class_faces = int((train & ~is_photo).sum())
    model.details = {
        "improved": result.improved,
        "start": shipped_register().version,
        "champion_at_start": champion.version,
        "heldout_students": len(set(labels[held].tolist())),
        "heldout_faces": int(held.sum()),
        "validation": result.validation,
        "history": result.history,
        "training": {k: v for k, v in asdict(training_config()).items() if k != "hidden"},
        "threshold_rule": "false-accept rate <= 0.1% (review 1%) of different-student pairs of "
        "the validation students (trained on no photo of theirs)",
        "dim": int(x.shape[1]),
    }
    model.save()
    audit_event(
        action=AuditEvent.Action.FACE_MODEL_TRAINED,
        by=model.created_by,
        subject=model.version,
        detail={
            "students": model.students,
            "photos": model.photos,
            "class_faces": model.class_faces,
        },
    )
    model.trained_students.set(Student.objects.filter(pk__in=trained_students))
    model.heldout_students.set(Student.objects.filter(pk__in=set(labels[held].tolist())))
    withdrawn = Student.objects.filter(pk__in=trained_students, consent_given_at__isnull=True)
    if withdrawn.exists():  # consent withdrawn while the job ran
        _flag(FaceModel.objects.filter(pk=model.pk), "a student withdrew consent during training")


# --- evaluation ---------------------------------------------------------------------------------


def face_model_evaluate(*, model: FaceModel) -> FaceModel:
    """Score ``model`` and the serving model on ``model``'s held-out students (those still
    consented) as class photos are decided; store both and whether it may be promoted."""
    from facerec.model import backbone_signature
    from facerec.training.installation import evaluate_openset, promotion_verdict

    if model.state != FaceModel.State.READY or not model.is_trained:
        raise Conflict("Only a trained model can be evaluated.", code="not_evaluable")
    # A head trained before the deployment changed its backbones cannot map today's vectors.
    if not _loadable(model, backbone_signature()):
        raise Conflict(
            f"{model.version} cannot serve with this deployment's backbones.",
            code="model_unusable",
        )
    champion = serving_model()
    x, labels = _heldout_data(model)
    scores = {}
    for role, candidate in (("challenger", model), ("champion", champion)):
        scores[role] = evaluate_openset(
            model_head(candidate),
            x,
            labels,
            threshold=candidate.threshold,
            review_threshold=candidate.review_threshold,
            margin=candidate.match_margin,
            seed=0,
        )
    reasons = promotion_verdict(scores["challenger"], scores["champion"])
    if champion.pk == model.pk:
        reasons = ["it is the serving model"]
    if scores["challenger"].students < 2:
        reasons.append("fewer than 2 held-out students still have photos to evaluate on")
    with transaction.atomic():
        locked = FaceModel.objects.select_for_update().get(pk=model.pk)
        locked.evaluation = {
            "champion_version": champion.version,
            "challenger": scores["challenger"].as_dict(),
            "champion": scores["champion"].as_dict(),
            "promotable": not reasons,
            "reasons": reasons,
        }
        locked.evaluated_at = timezone.now()
        locked.save(update_fields=["evaluation", "evaluated_at"])
    return locked


def _heldout_data(model: FaceModel) -> tuple[np.ndarray, np.ndarray]:
    from facerec.model import backbone_dim, backbone_key

    rows = list(
        ReferencePhoto.objects.filter(
            student__in=model.heldout_students.all(),
            student__consent_given_at__isnull=False,
            status=Ready,
            backbone_embedding__isnull=False,
            backbone_key=backbone_key(),
        )
        .order_by("student_id", "pk")
        .values_list("student_id", "backbone_embedding")
    )
    # The rows are this deployment's backbone vectors, whatever the model's details say.
    x = np.stack([_vector(raw) for _, raw in rows]) if rows else np.zeros((0, backbone_dim()))
    return x.astype(np.float32), np.array([s for s, _ in rows], dtype=np.int64)


def promotion_refusal(model: FaceModel) -> str:
    """Why ``model`` cannot be promoted now, in words; "" when it can."""
    if model.serving:
        return "It is already serving."
    if model.state != FaceModel.State.READY or not model.is_trained:
        return "Only a trained model can be promoted."
    if model.needs_retraining:
        return f"It must be retrained: {model.retraining_reason}."
    evaluation = model.evaluation or {}
    if not evaluation:
        return "Evaluate it first."
    if evaluation.get("champion_version") != serving_model().version:
        return "The serving model changed since the evaluation; evaluate again."
    if not evaluation.get("promotable"):
        return "It is not better than the serving model: " + "; ".join(evaluation["reasons"]) + "."
    return ""


# --- switching ----------------------------------------------------------------------------------


@transaction.atomic
def face_model_promote_start(*, model: FaceModel, by: User | None) -> Job:
    """Start re-embedding every reference photo with ``model``; it serves once all are done."""
    refusal = promotion_refusal(model)
    if refusal:
        raise Conflict(refusal, code="not_promotable")
    return _switch_start(model, by, "promote")


@transaction.atomic
def face_model_rollback_start(*, by: User | None) -> Job:
    """Go back to the model that served before the current one, the same way."""
    serving = serving_model()
    previous = serving.previous
    if previous is None:
        raise Conflict("No earlier model to roll back to.", code="no_previous_model")
    from facerec.model import backbone_signature

    if not _loadable(previous, backbone_signature()):
        raise Conflict(
            f"{previous.version} cannot serve with this deployment's backbones.",
            code="model_unusable",
        )
    return _switch_start(previous, by, "rollback")


def _switch_start(model: FaceModel, by: User | None, why: str) -> Job:
    if Job.objects.filter(
        kind=Job.Kind.FACE_MODEL_SWITCH, state__in=[Job.State.QUEUED, Job.State.RUNNING]
    ).exists():
        raise Conflict("A model switch is already running.", code="switch_running")
    job = Job.objects.create(
        kind=Job.Kind.FACE_MODEL_SWITCH,
        created_by=by,
        face_model=model,
        options={"why": why, "from": serving_model().version},
    )
    _enqueue_after_commit(job)
    return job


def photos_missing(version: str):
    return ReferencePhoto.objects.filter(status=Ready).exclude(embeddings__model_version=version)


def face_model_switch(job: Job, *, before_switch=None) -> None:
    """The switch job's body: embed what ``job.face_model`` lacks in batches (the serving model
    keeps serving), then switch in one transaction that embeds any photo added meanwhile."""
    model = _job_model(job)
    total = photos_missing(model.version).count()
    Job.objects.filter(pk=job.pk).update(total=total + 1)
    done = 0
    while True:
        ids = list(
            photos_missing(model.version).order_by("pk")[:SWITCH_BATCH].values_list("pk", flat=True)
        )
        if not ids:
            break
        with transaction.atomic():
            embedded = _embed_photos(model, ids)
            done += len(ids)
            _progress(job, done, total + 1, "photos", f"{embedded} embedded with {model.version}")
    if before_switch is not None:
        before_switch(job)
    _switch(job, model)


def _job_model(job: Job) -> FaceModel:
    if job.face_model is None:
        raise InvalidInput("The job's model was deleted.", code="model_gone")
    return job.face_model


def _embed_photos(model: FaceModel, ids: list[int]) -> int:
    """Embed these photos with ``model`` from their backbone vectors (a photo without one, made
    before they were kept, is processed again from its image). Returns how many got a row."""
    from attendance.services.photos import reference_photo_backbone
    from facerec.model import backbone_key

    head, key = model_head(model), backbone_key()
    count = 0
    for photo in ReferencePhoto.objects.select_for_update().filter(pk__in=ids, status=Ready):
        kept = photo.backbone_embedding and photo.backbone_key == key
        vector = _vector(photo.backbone_embedding) if kept else reference_photo_backbone(photo)
        if vector is None:
            continue
        ReferenceEmbedding.objects.update_or_create(
            photo=photo,
            model_version=model.version,
            defaults={"embedding": embedding_to_bytes(head(vector[None, :])[0])},
        )
        count += 1
    return count


@transaction.atomic
def _switch(job: Job, model: FaceModel) -> None:
    # Every FaceModel row is locked: a concurrent switch or serving_model() waits for this one.
    rows = {m.pk: m for m in FaceModel.objects.select_for_update().order_by("pk")}
    target, old = rows[model.pk], next((m for m in rows.values() if m.serving), None)
    late = list(photos_missing(target.version).values_list("pk", flat=True))
    _embed_photos(target, late)
    if old is not None and old.pk != target.pk:
        old.serving = False
        old.save(update_fields=["serving"])
        target.previous = old
    target.serving, target.serving_since = True, timezone.now()
    target.save(update_fields=["serving", "serving_since", "previous"])
    _mirror_serving_embeddings(target.version)
    was = old.version if old else "-"
    why = job.options.get("why", "promote")
    audit_event(
        action=AuditEvent.Action.FACE_MODEL_SWITCHED,
        by=job.created_by,
        subject=f"{target.version} serves (was {was})",
        detail={"why": why, "from": was, "to": target.version, "job": job.pk},
    )
    _progress(job, None, None, "switch", f"{target.version} serves (was {was})")


# --- progress -----------------------------------------------------------------------------------


def _progress(job: Job, done: int | None, total: int | None, where: str, message: str) -> None:
    """Report a step on the job (committed at once: the page polls it); ``done`` None means
    all of it."""
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        locked.total = max(total or locked.total, 1)
        locked.done = locked.total if done is None else min(locked.total, done)
        locked.report = [*locked.report, {"where": where, "outcome": "updated", "message": message}]
        locked.save(update_fields=["total", "done", "report", "updated_at"])


def face_model_job_run(job: Job) -> str:
    """Run a training or switch job; returns why it failed ("" when it did not). A failed
    training leaves its model "failed" with the reason; the serving model never changes then."""
    from attendance.errors import DomainError

    try:
        if job.kind == Job.Kind.FACE_MODEL_TRAIN:
            face_model_train(job)
        else:
            face_model_switch(job)
    except DomainError as error:
        _model_failed(job, error.message)
        return error.message
    except Exception:
        _model_failed(job, "Training stopped unexpectedly; see the worker's log.")
        raise
    return ""


def _model_failed(job: Job, reason: str) -> None:
    if job.kind == Job.Kind.FACE_MODEL_TRAIN and job.face_model_id:
        FaceModel.objects.filter(pk=job.face_model_id, state=FaceModel.State.TRAINING).update(
            state=FaceModel.State.FAILED, failure_reason=reason
        )


def face_model_list() -> list[FaceModel]:
    serving_model()  # registers the shipped model on first use
    return list(FaceModel.objects.select_related("previous", "created_by"))
