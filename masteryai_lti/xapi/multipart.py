"""multipart/mixed bodies of statements with attachments (xAPI 1.0.3 Communication 1.5.2,
2.0 4.1.3 / 4.2.2.6).

Reading: the first part holds every statement as application/json; each later part
is one attachment's raw bytes with ``X-Experience-API-Hash`` (its SHA-256) and, in
1.0.3, ``Content-Transfer-Encoding: binary``. Writing: the same layout for GET with
``attachments=true``. Pure: bytes in, dataclasses out.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message


class MultipartError(ValueError):
    """The body is not a well-formed multipart/mixed statement request."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


@dataclass(frozen=True)
class Part:
    """One body part: lower-cased header names and raw content."""

    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return media_type(self.headers.get("content-type", ""))


def media_type(header_value: str) -> str:
    """``application/json; charset=utf-8`` -> ``application/json``."""
    return header_value.split(";", 1)[0].strip().lower()


def boundary_of(content_type_header: str) -> str | None:
    """The ``boundary`` parameter of a Content-Type header, if any."""
    message = Message()
    message["content-type"] = content_type_header
    boundary = message.get_param("boundary")
    return str(boundary) if boundary else None


def _parse_headers(block: bytes, index: int) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_line in block.replace(b"\r\n", b"\n").split(b"\n"):
        if not raw_line.strip():
            continue
        name, sep, value = raw_line.decode("latin-1").partition(":")
        if not sep:
            raise MultipartError(f"parts[{index}]", f"malformed part header line {name!r}")
        headers[name.strip().lower()] = value.strip()
    return headers


def parse_multipart(body: bytes, content_type_header: str) -> list[Part]:
    """Split a multipart/mixed body into parts, refusing malformed framing."""
    boundary = boundary_of(content_type_header)
    if not boundary:
        raise MultipartError("Content-Type", "multipart/mixed needs a boundary parameter")
    delimiter = b"--" + boundary.encode("latin-1")
    start = body.find(delimiter)
    if start < 0:
        raise MultipartError("body", "the boundary given in Content-Type never appears in the body")
    parts: list[Part] = []
    position = start + len(delimiter)
    closed = False
    while True:
        if body.startswith(b"--", position):
            closed = True
            break
        # The delimiter line ends with CRLF (RFC 2046 5.1.1); tolerate a bare LF.
        if body.startswith(b"\r\n", position):
            position += 2
        elif body.startswith(b"\n", position):
            position += 1
        else:
            raise MultipartError(f"parts[{len(parts)}]", "boundary line is not followed by CRLF")
        end = body.find(b"\r\n" + delimiter, position)
        skip = 2
        if end < 0:
            end = body.find(b"\n" + delimiter, position)
            skip = 1
        if end < 0:
            break
        chunk = body[position:end]
        separator = chunk.find(b"\r\n\r\n")
        sep_len = 4
        if separator < 0:
            separator = chunk.find(b"\n\n")
            sep_len = 2
        if chunk.startswith(b"\r\n"):
            headers, content = {}, chunk[2:]
        elif separator < 0:
            raise MultipartError(f"parts[{len(parts)}]", "part has no blank line after headers")
        else:
            headers = _parse_headers(chunk[:separator], len(parts))
            content = chunk[separator + sep_len :]
        parts.append(Part(headers=headers, body=content))
        position = end + skip + len(delimiter)
    if not closed:
        raise MultipartError("body", "the multipart body has no closing boundary")
    if not parts:
        raise MultipartError("body", "the multipart body has no parts")
    return parts


def build_multipart(
    statements_json: bytes, attachments: Iterable[tuple[str, str, bytes]]
) -> tuple[bytes, str]:
    """Body and Content-Type of a multipart/mixed response.

    ``attachments`` yields (sha2, content type, bytes) for each distinct attachment.
    """
    boundary = "xapi-" + secrets.token_hex(16)
    out = [
        b"--" + boundary.encode() + b"\r\n",
        b"Content-Type: application/json\r\n\r\n",
        statements_json,
        b"\r\n",
    ]
    for sha2, content_type, data in attachments:
        out += [
            b"--" + boundary.encode() + b"\r\n",
            f"Content-Type: {content_type}\r\n".encode("latin-1"),
            b"Content-Transfer-Encoding: binary\r\n",
            f"X-Experience-API-Hash: {sha2}\r\n\r\n".encode("latin-1"),
            data,
            b"\r\n",
        ]
    out.append(b"--" + boundary.encode() + b"--\r\n")
    return b"".join(out), f'multipart/mixed; boundary="{boundary}"'
