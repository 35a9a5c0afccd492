"""verify_upload (domain/uploads.py): the stored object's size against the declared one, and
its first bytes against the declared type's signature."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from lendbridge.domain.uploads import HEAD_BYTES, MAX_UPLOAD_BYTES, UploadVerdict, sniff_type, verify_upload

PDF_HEAD = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
TIFF_LE = b"II*\x00\x08\x00\x00\x00"
TIFF_BE = b"MM\x00*\x00\x00\x00\x08"


def _image_head(fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(buffer, format=fmt, **options)
    return buffer.getvalue()[:HEAD_BYTES]


@pytest.mark.parametrize(
    ("declared", "head"),
    [
        ("application/pdf", PDF_HEAD),
        ("image/png", PNG_HEAD),
        ("image/jpeg", JPEG_HEAD),
        ("image/tiff", TIFF_LE),
        ("image/tiff", TIFF_BE),
        ("image/tiff", b"II+\x00\x08\x00\x00\x00"),  # BigTIFF
    ],
)
def test_a_file_of_the_declared_type_and_size_is_accepted(declared: str, head: bytes) -> None:
    assert verify_upload(declared, 1000, 1000, head) == UploadVerdict(True, None)


@pytest.mark.parametrize(
    ("declared", "fmt", "options"),
    [("image/png", "PNG", {}), ("image/jpeg", "JPEG", {}), ("image/tiff", "TIFF", {}), ("application/pdf", "PDF", {})],
)
def test_files_written_by_a_real_encoder_are_recognised(declared: str, fmt: str, options: dict[str, object]) -> None:
    head = _image_head(fmt, **options)
    assert sniff_type(head) == declared
    assert verify_upload(declared, 10, 10, head).accepted


def test_both_tiff_byte_orders_from_a_real_encoder_are_recognised() -> None:
    for mode, prefix in (("L", b"II*\x00"), ("I;16B", b"MM\x00*")):  # Pillow writes 16-bit big-endian as MM
        buffer = io.BytesIO()
        Image.new(mode, (4, 4)).save(buffer, format="TIFF")
        head = buffer.getvalue()[:HEAD_BYTES]
        assert head.startswith(prefix)
        assert verify_upload("image/tiff", 10, 10, head).accepted


def test_a_size_different_from_the_declared_one_is_rejected() -> None:
    verdict = verify_upload("application/pdf", 1000, 999, PDF_HEAD)
    assert verdict == UploadVerdict(False, "The stored file has 999 bytes, not the 1000 declared")
    assert not verify_upload("application/pdf", 1000, 1001, PDF_HEAD).accepted


@pytest.mark.parametrize("size", [0, MAX_UPLOAD_BYTES + 1])
def test_an_empty_or_oversized_file_is_rejected_even_when_declared(size: int) -> None:
    verdict = verify_upload("application/pdf", size, size, PDF_HEAD)
    assert verdict == UploadVerdict(False, "The file must have between 1 byte and 20 MB")


def test_the_limits_themselves_are_accepted() -> None:
    assert verify_upload("application/pdf", 1, 1, b"%PDF-").accepted
    assert verify_upload("application/pdf", MAX_UPLOAD_BYTES, MAX_UPLOAD_BYTES, PDF_HEAD).accepted


@pytest.mark.parametrize(
    ("declared", "head", "reason"),
    [
        ("application/pdf", b"MZ\x90\x00\x03\x00\x00\x00", "The file is not a application/pdf file"),  # a renamed .exe
        ("application/pdf", b"PK\x03\x04\x14\x00", "The file is not a application/pdf file"),  # a .docx
        ("application/pdf", b" %PDF-1.7", "The file is not a application/pdf file"),  # junk before the header
        ("application/pdf", b"%PDF", "The file is not a application/pdf file"),  # truncated header
        ("application/pdf", b"", "The file is not a application/pdf file"),
        ("application/pdf", PNG_HEAD, "The file is a image/png file, not the application/pdf declared"),
        ("image/png", JPEG_HEAD, "The file is a image/jpeg file, not the image/png declared"),
        ("image/jpeg", b"\xff\xd8\x00\x00", "The file is not a image/jpeg file"),
        ("image/tiff", b"II\x00*", "The file is not a image/tiff file"),  # byte order and magic mixed up
        ("image/tiff", b"MM*\x00", "The file is not a image/tiff file"),
        ("image/png", b"\x89PNG\r\n\x1a", "The file is not a image/png file"),
    ],
)
def test_bytes_that_are_not_the_declared_type_are_rejected(declared: str, head: bytes, reason: str) -> None:
    assert verify_upload(declared, 100, 100, head) == UploadVerdict(False, reason)


@pytest.mark.parametrize("declared", ["text/html", "application/octet-stream", "image/gif", "APPLICATION/PDF", ""])
def test_an_undeclarable_type_is_rejected(declared: str) -> None:
    verdict = verify_upload(declared, 100, 100, PDF_HEAD)
    assert verdict == UploadVerdict(False, "The declared content type is not one the service accepts")
