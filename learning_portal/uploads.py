"""Uploaded files: recognise them by content, cap their size, store them unguessably.

Shared by every app that accepts files (courseware, course lessons, imports). An
extension proves nothing: each accepted kind is recognised from its first bytes (and,
for Office files, from the parts inside the zip), so a renamed .exe is refused.
Files are stored under MEDIA_ROOT with random names and served only by views that
check who may see them (never from a public /media/ URL).
"""

from __future__ import annotations

import os
import secrets
import zipfile
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse
from django.utils.translation import gettext as _

# kind → (extensions, content check). Content checks look at the head of the file.
_OOXML_PARTS = {"docx": "word/", "pptx": "ppt/", "xlsx": "xl/"}
KIND_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "pdf": (".pdf",),
    "docx": (".docx",),
    "pptx": (".pptx",),
    "xlsx": (".xlsx",),
    "video": (".mp4", ".m4v", ".mov", ".webm"),
    "image": (".png", ".jpg", ".jpeg"),
}
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "video": "video/mp4",
    "image": "image/png",
}


def _head(upload: UploadedFile, size: int = 64) -> bytes:
    upload.seek(0)
    head = upload.read(size)
    upload.seek(0)
    return head


def _is_ooxml(upload: UploadedFile, part_prefix: str) -> bool:
    upload.seek(0)
    try:
        with zipfile.ZipFile(upload) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    finally:
        upload.seek(0)
    return "[Content_Types].xml" in names and any(n.startswith(part_prefix) for n in names)


def sniff_kind(upload: UploadedFile) -> str | None:
    """The kind the content really is (one of KIND_EXTENSIONS), or None."""
    head = _head(upload)
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        for kind, prefix in _OOXML_PARTS.items():
            if _is_ooxml(upload, prefix):
                return kind
        return None
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "video"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video"  # WebM / Matroska
    if head.startswith(b"\x89PNG\r\n\x1a\n") or head.startswith(b"\xff\xd8\xff"):
        return "image"
    return None


def validate_upload(
    upload: UploadedFile, *, kinds: Iterable[str], max_bytes: int, field: str = "file"
) -> str:
    """Check an upload's size, extension and content; return its kind.

    Raises ValidationError({field: [message]}) saying what is wrong with which file.
    """
    kinds = tuple(kinds)
    name = os.path.basename(upload.name or "")
    ext = os.path.splitext(name)[1].lower()
    allowed_ext = [e for k in kinds for e in KIND_EXTENSIONS[k]]
    if upload.size is not None and upload.size > max_bytes:
        raise ValidationError(
            {field: [_("“%(name)s” is %(size).1f MB; the limit is %(limit).1f MB.") % {
                "name": name, "size": upload.size / 1048576, "limit": max_bytes / 1048576}]}
        )
    if not upload.size:
        raise ValidationError({field: [_("“%(name)s” is empty.") % {"name": name}]})
    if ext not in allowed_ext:
        raise ValidationError(
            {field: [_("“%(name)s” is not an accepted file type (accepted: %(exts)s).") % {
                "name": name, "exts": ", ".join(allowed_ext)}]}
        )
    kind = sniff_kind(upload)
    if kind is None or ext not in KIND_EXTENSIONS.get(kind, ()):
        raise ValidationError(
            {field: [_("The content of “%(name)s” does not match its extension %(ext)s; "
                       "the file may be renamed or damaged.") % {"name": name, "ext": ext}]}
        )
    return kind


def unguessable_upload_to(folder: str):
    """An `upload_to` callable: MEDIA_ROOT/<folder>/<yyyy>/<random>.<ext>, original name dropped.

    Migrations can only refer to a module-level name, so bind the result in your models
    module and wrap it in a plain function there (see `courses.models.lesson_upload_to`).
    """

    def upload_to(instance, filename: str) -> str:
        from django.utils import timezone

        ext = os.path.splitext(filename)[1].lower()[:10]
        return f"{folder}/{timezone.now():%Y}/{secrets.token_urlsafe(24)}{ext}"

    upload_to.__qualname__ = upload_to.__name__ = f"upload_to_{folder.replace('/', '_')}"
    return upload_to


def protected_file_response(field_file, *, download_name: str, as_attachment: bool = False) -> FileResponse:
    """Stream a stored file to a caller whose right to see it the view has already checked."""
    response = FileResponse(field_file.open("rb"), as_attachment=as_attachment, filename=download_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
