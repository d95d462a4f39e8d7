"""Streams a multipart/form-data request: the file part straight to disk, small fields in memory.

Starlette's form parser would spool the whole file to a temporary file before the route could
check its size; this receiver enforces the limit while the bytes arrive.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import IO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from crm_shared.problems import BadRequest, PayloadTooLarge, UnsupportedMediaType

FIELD_MAX_BYTES = 64 * 1024
# Room for the part headers and the small fields around the file.
_ENVELOPE_BYTES = 1024 * 1024


@dataclass
class ReceivedForm:
    """The small form fields and what arrived of the file part."""

    fields: dict[str, str] = field(default_factory=dict)
    file_received: bool = False
    file_bytes: int = 0
    # SHA-256 of the file part, computed as it streams to disk.
    file_sha256: str = ""

    def digest(self) -> str:
        """What the form says, as one hash: the file's content and the fields, not the framing."""
        fields = json.dumps(sorted(self.fields.items()), ensure_ascii=True)
        return hashlib.sha256(f"{self.file_sha256}\0{fields}".encode()).hexdigest()


class _Receiver:
    """python-multipart callbacks: route each part's bytes to the sink or to a field buffer."""

    def __init__(self, sink: IO[bytes], *, file_field: str, max_file_bytes: int) -> None:
        self._sink = sink
        self._file_field = file_field
        self._max_file_bytes = max_file_bytes
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._part: str | None = None
        self._buffer = bytearray()
        self._file_hash = hashlib.sha256()
        self.form = ReceivedForm()
        self.ended = False

    def on_part_begin(self) -> None:
        self._disposition = b""
        self._part = None
        self._buffer = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.strip().lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        name = options.get(b"name")
        if name is None:
            raise BadRequest("a multipart part has no name in its Content-Disposition header")
        self._part = name.decode("latin-1")
        if self._part == self._file_field:
            if self.form.file_received:
                raise BadRequest(f"send exactly one '{self._file_field}' part")
            self.form.file_received = True

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._part == self._file_field:
            self.form.file_bytes += len(chunk)
            if self.form.file_bytes > self._max_file_bytes:
                raise PayloadTooLarge(
                    f"the file is larger than the limit of {self._max_file_bytes} bytes",
                    extra={"limit_bytes": self._max_file_bytes},
                )
            self._sink.write(chunk)
            self._file_hash.update(chunk)
            return
        if len(self._buffer) + len(chunk) > FIELD_MAX_BYTES:
            raise PayloadTooLarge(
                f"form field '{self._part}' is larger than {FIELD_MAX_BYTES} bytes"
            )
        self._buffer += chunk

    def on_part_end(self) -> None:
        if self._part is not None and self._part != self._file_field:
            try:
                self.form.fields[self._part] = self._buffer.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise BadRequest(f"form field '{self._part}' is not valid UTF-8") from exc

    def on_end(self) -> None:
        self.ended = True
        self.form.file_sha256 = self._file_hash.hexdigest()


def _boundary(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "")
    media_type, options = parse_options_header(content_type)
    if media_type != b"multipart/form-data":
        raise UnsupportedMediaType("send the CSV as multipart/form-data with a 'file' part")
    boundary = options.get(b"boundary")
    if not boundary:
        raise BadRequest("the multipart/form-data Content-Type has no boundary")
    return boundary


async def receive_form(
    request: Request, sink: IO[bytes], *, file_field: str, max_file_bytes: int
) -> ReceivedForm:
    """Read the request body, writing the file part to `sink`; 413 as soon as it is too large."""
    boundary = _boundary(request)
    max_body = max_file_bytes + _ENVELOPE_BYTES
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_body:
        raise PayloadTooLarge(
            f"the request is larger than the limit of {max_file_bytes} bytes",
            extra={"limit_bytes": max_file_bytes},
        )
    receiver = _Receiver(sink, file_field=file_field, max_file_bytes=max_file_bytes)
    try:
        parser = MultipartParser(
            boundary,
            {
                "on_part_begin": receiver.on_part_begin,
                "on_header_field": receiver.on_header_field,
                "on_header_value": receiver.on_header_value,
                "on_header_end": receiver.on_header_end,
                "on_headers_finished": receiver.on_headers_finished,
                "on_part_data": receiver.on_part_data,
                "on_part_end": receiver.on_part_end,
                "on_end": receiver.on_end,
            },
        )
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_body:
                raise PayloadTooLarge(
                    f"the request is larger than the limit of {max_file_bytes} bytes",
                    extra={"limit_bytes": max_file_bytes},
                )
            parser.write(chunk)
        parser.finalize()
    except FormParserError as exc:
        raise BadRequest("the multipart/form-data body is malformed") from exc
    if not receiver.ended:
        raise BadRequest("the multipart/form-data body ended before its closing boundary")
    return receiver.form
