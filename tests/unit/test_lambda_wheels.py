"""The wheels a function ships beyond the Powertools layer (lendbridge_infra/wheels.py): what
synth does when they cannot be had, and that the cache is keyed by what would be downloaded.
The download itself is checked on the synthesized extractor asset (tests/infra)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lendbridge_infra.function import WHEEL_PLATFORM
from lendbridge_infra.wheels import WheelPlatform, WheelsUnavailable, cache_directory, unpacked_wheels


def test_wheels_that_cannot_be_fetched_stop_synth_with_a_reason_and_leave_no_cache(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("pillow==12.2.0 --hash=not-a-hash\n")  # pip refuses it before any download
    cache = tmp_path / "cache"
    with pytest.raises(WheelsUnavailable) as caught:
        unpacked_wheels(requirements, WHEEL_PLATFORM, cache)
    message = str(caught.value)
    assert str(requirements) in message
    assert "CPython 3.13 on manylinux2014_aarch64" in message
    assert "would fail in AWS" in message
    assert list(cache.iterdir()) == []  # no half-unpacked directory a later synth would trust


def test_a_cached_directory_is_reused_without_downloading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("pypdf==7.1.1\n")
    cached = cache_directory(requirements, WHEEL_PLATFORM, tmp_path)
    cached.mkdir()
    monkeypatch.setattr(subprocess, "run", _no_download)
    assert unpacked_wheels(requirements, WHEEL_PLATFORM, tmp_path) == cached


def test_the_cache_key_changes_with_the_pins_and_with_the_platform(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("pypdf==7.1.1\n")
    first = cache_directory(requirements, WHEEL_PLATFORM, tmp_path)
    x86 = cache_directory(requirements, WheelPlatform("3.13", "manylinux2014_x86_64"), tmp_path)
    older_python = cache_directory(requirements, WheelPlatform("3.12", WHEEL_PLATFORM.platform), tmp_path)
    requirements.write_text("pypdf==7.1.2\n")
    repinned = cache_directory(requirements, WHEEL_PLATFORM, tmp_path)
    assert len({first, x86, older_python, repinned}) == 4


def _no_download(*args: object, **kwargs: object) -> None:
    raise AssertionError("pip was run although the cache held the packages")
