"""Third-party packages for one function's asset, as wheels built for the Lambda platform.

Most functions need nothing beyond the Powertools layer. One that does names a pinned
requirements file; its wheels are downloaded for the functions' Python and architecture (not this
machine's), unpacked once into a cache under ``.local/`` keyed by the file's content and the
platform, and copied into the function's staged asset. No Docker is needed: only binary wheels
are accepted, so nothing is compiled here.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
WHEEL_CACHE = REPO_ROOT / ".local" / "lambda-wheels"


class WheelsUnavailable(RuntimeError):
    """The wheels a function ships could not be downloaded; synth stops rather than deploy without them."""


@dataclass(frozen=True)
class WheelPlatform:
    python_version: str  # "3.13"
    platform: str  # a pip platform tag, e.g. "manylinux2014_aarch64"

    def __str__(self) -> str:
        return f"CPython {self.python_version} on {self.platform}"


def unpacked_wheels(requirements: Path, platform: WheelPlatform, cache: Path = WHEEL_CACHE) -> Path:
    """A directory holding the packages pinned in ``requirements``, unpacked for ``platform``."""
    target = cache_directory(requirements, platform, cache)
    if target.is_dir():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    # Built beside the target and renamed into place, so an interrupted synth leaves no half cache.
    with tempfile.TemporaryDirectory(dir=cache, prefix=".partial-") as work:
        downloads, site = Path(work, "wheels"), Path(work, "site")
        _download(requirements, platform, downloads, cache)
        wheels = sorted(downloads.glob("*.whl"))
        if not wheels:
            raise WheelsUnavailable(f"{requirements.name}: pip downloaded no wheel for {platform}")
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(site)
        try:
            site.rename(target)
        except OSError:
            if not target.is_dir():  # not another synth that finished first
                raise
    return target


def cache_directory(requirements: Path, platform: WheelPlatform, cache: Path = WHEEL_CACHE) -> Path:
    """Where the packages are unpacked: keyed by the pins (with their hashes) and the platform,
    so changing either downloads again and nothing stale is shipped."""
    key = hashlib.sha256(f"{platform.python_version} {platform.platform}\n".encode() + requirements.read_bytes())
    return cache / key.hexdigest()[:20]


def _download(requirements: Path, platform: WheelPlatform, destination: Path, cache: Path) -> None:
    command = [
        sys.executable, "-m", "pip", "download",
        "--only-binary=:all:",
        "--platform", platform.platform,
        "--python-version", platform.python_version,
        "--implementation", "cp",
        "--requirement", str(requirements),
        "--dest", str(destination),
        "--disable-pip-version-check", "--no-input", "--quiet",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - fixed argv
    if result.returncode != 0:
        detail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise WheelsUnavailable(
            f"Cannot download the wheels pinned in {requirements} for {platform} "
            f"(pip exited {result.returncode}); the function would fail in AWS without them. "
            f"Synth needs the package index once, later synths reuse {cache}.\n{detail}"
        )
