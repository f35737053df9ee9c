"""facerec's environment variables: a malformed one raises an error that names it."""

from __future__ import annotations

import pytest

from facerec.config import VARIABLES, environment_errors, validate_environment
from facerec.datasets import cache_dir, datasets_dir
from facerec.errors import ConfigurationError
from facerec.model import DEFAULT_METADATA, metadata_path


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_unset_or_blank_variables_mean_the_defaults(monkeypatch):
    monkeypatch.setenv("ROLLCALL_FACE_MODEL", "")

    assert environment_errors() == []
    assert metadata_path() == DEFAULT_METADATA


@pytest.mark.parametrize("value", ["four", "-1", "2.5"])
def test_tensorflow_threads_must_be_a_whole_number(monkeypatch, value):
    from facerec.backbone import configure_tensorflow_threads

    monkeypatch.setenv("ROLLCALL_TF_THREADS", value)

    with pytest.raises(ConfigurationError) as raised:
        configure_tensorflow_threads()  # fails before TensorFlow is imported
    assert raised.value.variable == "ROLLCALL_TF_THREADS"
    assert str(raised.value) == f"ROLLCALL_TF_THREADS must be a whole number >= 0, got {value!r}"
    assert raised.value.code == "bad_setting"


def test_the_face_model_must_be_an_existing_file(monkeypatch, tmp_path):
    monkeypatch.setenv("ROLLCALL_FACE_MODEL", str(tmp_path / "nope.json"))

    with pytest.raises(
        ConfigurationError, match=r"ROLLCALL_FACE_MODEL must name .* \(no such file\)"
    ):
        metadata_path()

    monkeypatch.setenv("ROLLCALL_FACE_MODEL", str(tmp_path))
    with pytest.raises(ConfigurationError, match=r"ROLLCALL_FACE_MODEL .* \(a folder\)"):
        metadata_path()


def test_a_given_face_model_file_is_used(monkeypatch, tmp_path):
    other = tmp_path / "other-head.json"
    other.write_text("{}")
    monkeypatch.setenv("ROLLCALL_FACE_MODEL", str(other))

    assert metadata_path() == other


def test_data_folders_may_be_missing_but_not_files(monkeypatch, tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    monkeypatch.setenv("ROLLCALL_DATASETS", str(tmp_path / "not-yet"))
    assert datasets_dir() == tmp_path / "not-yet"

    monkeypatch.setenv("ROLLCALL_DATASETS", str(a_file))
    monkeypatch.setenv("ROLLCALL_CACHE", str(a_file))
    with pytest.raises(ConfigurationError, match="ROLLCALL_DATASETS must be a folder"):
        datasets_dir()
    with pytest.raises(ConfigurationError, match="ROLLCALL_CACHE must be a folder"):
        cache_dir()


def test_validation_reports_every_bad_variable_and_raises_the_first(monkeypatch, tmp_path):
    monkeypatch.setenv("ROLLCALL_TF_THREADS", "four")
    monkeypatch.setenv("ROLLCALL_FACE_MODEL", str(tmp_path / "missing.json"))

    assert [e.variable for e in environment_errors()] == [
        "ROLLCALL_TF_THREADS",
        "ROLLCALL_FACE_MODEL",
    ]
    with pytest.raises(ConfigurationError, match="ROLLCALL_TF_THREADS"):
        validate_environment()
