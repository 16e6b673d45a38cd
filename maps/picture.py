"""Text drawn on images (exception messages, legend titles) with Pillow and Mapnik's DejaVu."""
import io
import os
import textwrap
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from .mapnik_env import FONTS_DIR, mapnik


@lru_cache(maxsize=8)
def font(size=12, bold=False):
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in (FONTS_DIR, os.path.join(FONTS_DIR, "dejavu-fonts-ttf-2.37", "ttf"),
                   "/usr/share/fonts/truetype/dejavu"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return ImageFont.truetype(path, size)
    for root, _dirs, files in os.walk(FONTS_DIR):
        if name in files:
            return ImageFont.truetype(os.path.join(root, name), size)
    return ImageFont.load_default()


def to_pillow(image):
    return Image.open(io.BytesIO(image.to_string("png32"))).convert("RGBA")


def from_pillow(picture):
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return mapnik.Image.from_string(buffer.getvalue())


def message_image(image, message):
    """The mapnik image with message written on it (WMS EXCEPTIONS=INIMAGE)."""
    picture = to_pillow(image)
    draw = ImageDraw.Draw(picture)
    width = max(10, picture.width // 7)
    y = 4
    for line in textwrap.wrap(message, width=width)[:40]:
        draw.text((4, y), line, fill=(180, 0, 0, 255), font=font(11))
        y += 14
    return from_pillow(picture)
