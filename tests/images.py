"""Small valid images for tests: the loader reads an image's content (a text file saved as .png
is refused), and WordPress's image library must be able to read what is uploaded."""

from __future__ import annotations

import struct
import zlib


def png(width: int = 2, height: int = 2, seed: int = 0) -> bytes:
    """A valid PNG; a different ``seed`` gives different pixels (so a different file hash)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    pixel = bytes([0xFF, 0x80, seed % 256])
    rows = b"".join(b"\x00" + pixel * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def jpeg(width: int = 2, height: int = 2) -> bytes:
    """A valid JPEG."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (255, 128, 0)).save(out, "JPEG")
    return out.getvalue()
