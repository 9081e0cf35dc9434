"""The featured image as a network wants it: read, its type known, and small enough if need be.

Pillow is imported only when an image has to be made smaller.
"""

from __future__ import annotations

import io
from pathlib import Path

from pipeline.errors import InputError

MAX_SIDE = 2000  # the apps show link cards and images at most this wide; more only costs bytes
JPEG_QUALITIES = (85, 75, 65)
SHRINK_STEPS = 6  # each step scales the sides by 3/4: six reach about a fifth
MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def image_type(content: bytes) -> str | None:
    """The MIME type of a JPEG, PNG, GIF or WebP image from its first bytes, else None."""
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return next((mime for magic, mime in MAGIC if content.startswith(magic)), None)


def read_image(image: Path) -> tuple[bytes, str]:
    """The image's bytes and MIME type; InputError (naming the file) if it cannot be used."""
    try:
        content = image.read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot read the image: {exc.strerror}",
            path=image,
            fix="check featured_image in the post's front matter",
        ) from exc
    mime = image_type(content)
    if mime is None:
        raise InputError(
            "the featured image is not a JPEG, PNG, GIF or WebP file",
            path=image,
            fix="convert it to one of those",
        )
    return content, mime


def fit_under(image: Path, limit: int) -> tuple[bytes, str]:
    """The image as (bytes, MIME type): as it is if it has at most ``limit`` bytes, else a JPEG
    of at most ``MAX_SIDE`` pixels a side, as good as fits."""
    content, mime = read_image(image)
    if len(content) <= limit:
        return content, mime
    return _downscaled(content, image, limit), "image/jpeg"


def _downscaled(content: bytes, image: Path, limit: int) -> bytes:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(content)) as opened:
            picture = ImageOps.exif_transpose(opened)
            picture.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(
            "the featured image cannot be read as an image",
            path=image,
            fix="check that the file is a complete JPEG, PNG, GIF or WebP image",
        ) from exc
    if picture.mode != "RGB":  # JPEG has no transparency: flatten onto white
        rgba = picture.convert("RGBA")
        picture = Image.new("RGB", rgba.size, "white")
        picture.paste(rgba, mask=rgba.getchannel("A"))
    picture.thumbnail((MAX_SIDE, MAX_SIDE))
    for _ in range(SHRINK_STEPS):
        for quality in JPEG_QUALITIES:
            out = io.BytesIO()
            picture.save(out, "JPEG", quality=quality, optimize=True)
            if out.tell() <= limit:
                return out.getvalue()
        width, height = picture.size
        picture = picture.resize((max(1, width * 3 // 4), max(1, height * 3 // 4)))
    raise InputError(
        f"the featured image cannot be made smaller than {limit} bytes",
        path=image,
        fix="use a smaller image",
    )
