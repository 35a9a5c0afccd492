"""Does a stored upload match what was declared? Size first, then the file's magic bytes.

The presigned PUT binds the content type and length, so S3 refuses a larger body; this check is
what catches the rest: a client that declared one type and sent another kind of file (a
renamed executable declared as application/pdf), and an object that is not what the record says.
Only the first bytes of the object are needed (``HEAD_BYTES``).

Signatures (each file format's own specification):
- PDF: ``%PDF-`` at offset 0 (ISO 32000 allows up to 1024 bytes of junk before it; we do not:
  generated documents start with it, and leniency here is what polyglot files exploit);
- PNG: the 8-byte signature ``89 50 4E 47 0D 0A 1A 0A``;
- JPEG: the SOI marker ``FF D8`` followed by another marker ``FF``;
- TIFF: ``II*\\0`` (little-endian) or ``MM\\0*`` (big-endian); BigTIFF (``II+\\0``/``MM\\0+``)
  as well.
"""

from __future__ import annotations

from dataclasses import dataclass

from lendbridge.domain.extraction import JPEG, PDF, PNG, TIFF

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
HEAD_BYTES = 16

_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    PDF: (b"%PDF-",),
    PNG: (b"\x89PNG\r\n\x1a\n",),
    JPEG: (b"\xff\xd8\xff",),
    TIFF: (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"),
}


@dataclass(frozen=True)
class UploadVerdict:
    accepted: bool
    reason: str | None = None


def sniff_type(head: bytes) -> str | None:
    """The content type the first bytes announce, or None when they match none we accept."""
    for content_type, signatures in _SIGNATURES.items():
        if head.startswith(signatures):
            return content_type
    return None


def verify_upload(declared_type: str, declared_size: int, actual_size: int, head: bytes) -> UploadVerdict:
    """Accepts the object only if its size is the declared one (1 B to 20 MB) and its first
    bytes are the declared type's signature. The reason is a sentence safe to show the uploader."""
    if declared_type not in _SIGNATURES:
        return UploadVerdict(False, "The declared content type is not one the service accepts")
    if actual_size != declared_size:
        return UploadVerdict(False, f"The stored file has {actual_size} bytes, not the {declared_size} declared")
    if not 1 <= actual_size <= MAX_UPLOAD_BYTES:
        return UploadVerdict(False, "The file must have between 1 byte and 20 MB")
    if not head.startswith(_SIGNATURES[declared_type]):
        found = sniff_type(head)
        if found is None:
            return UploadVerdict(False, f"The file is not a {declared_type} file")
        return UploadVerdict(False, f"The file is a {found} file, not the {declared_type} declared")
    return UploadVerdict(True)
