"""Serving lesson files to people allowed to see the course, with HTTP range requests.

A video player seeks by asking for byte ranges (206 Partial Content); without them a
browser cannot jump ahead or resume in the middle of a long video. The caller's right to
see the file is checked by the view before anything here runs.
"""

from __future__ import annotations

import os
import re

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from learning_portal.uploads import CONTENT_TYPES, protected_file_response

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 64 * 1024
VIDEO_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".webm": "video/webm"}


def content_type_for(name: str, kind: str) -> str:
    ext = os.path.splitext(name)[1].lower()
    if ext in VIDEO_TYPES:
        return VIDEO_TYPES[ext]
    return CONTENT_TYPES.get(kind, "application/octet-stream")


def _chunks(handle, length: int):
    try:
        while length > 0:
            data = handle.read(min(CHUNK, length))
            if not data:
                break
            length -= len(data)
            yield data
    finally:
        handle.close()


def ranged_file_response(
    request: HttpRequest, field_file, *, download_name: str, content_type: str, as_attachment: bool = False
) -> HttpResponse:
    """The whole file (200) or the requested byte range (206); 416 for a range past the end."""
    size = field_file.size
    match = _RANGE.match(request.headers.get("Range", "").strip())
    if not match or not (match.group(1) or match.group(2)):
        response = protected_file_response(field_file, download_name=download_name, as_attachment=as_attachment)
        response["Content-Type"] = content_type
        response["Accept-Ranges"] = "bytes"
        return response
    first, last = match.group(1), match.group(2)
    if first:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    else:  # "bytes=-N": the last N bytes
        start = max(0, size - int(last))
        end = size - 1
    if start >= size or start > end:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    handle = field_file.open("rb")
    handle.seek(start)
    length = end - start + 1
    response = StreamingHttpResponse(_chunks(handle, length), status=206, content_type=content_type)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
