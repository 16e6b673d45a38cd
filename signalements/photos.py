"""Photos of a report: decoded by Pillow, turned upright, resized and re-encoded as a JPEG that
carries no metadata at all (EXIF, GPS, XMP, ICC comments), before anything stores or serves them.

Re-encoding from the pixels is the strip: only the pixel data crosses over to the new file, so no
tag of the original (GPS position, camera serial, date, thumbnail) can survive.
"""
import io

from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PHOTOS = 5
MAX_UPLOAD_BYTES = 10 * 1024 * 1024   # per file as sent
MAX_SIDE = 1600                        # pixels of the longest side, as stored
MAX_PIXELS = 40_000_000                # decompression-bomb guard (a 40 Mpx phone photo passes)
JPEG_QUALITY = 82


class PhotoError(ValueError):
    pass


def clean_photo(raw: bytes):
    """(jpeg bytes without metadata, width, height) or PhotoError (message for the user)."""
    if len(raw) > MAX_UPLOAD_BYTES:
        raise PhotoError(_("Photo trop lourde (%(size)d Mo au plus).")
                         % {"size": MAX_UPLOAD_BYTES // (1024 * 1024)})
    try:
        with Image.open(io.BytesIO(raw)) as image:
            if image.format not in ("JPEG", "PNG", "WEBP", "HEIF", "GIF", "MPO"):
                raise PhotoError(_("Format de photo non reconnu (JPEG, PNG ou WebP)."))
            if image.width * image.height > MAX_PIXELS:
                raise PhotoError(_("Photo trop grande (%(mpx)d mégapixels au plus).")
                                 % {"mpx": MAX_PIXELS // 1_000_000})
            image.load()
            upright = ImageOps.exif_transpose(image)
            pixels = upright.convert("RGB")
    except PhotoError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise PhotoError(_("Ce fichier n'est pas une photo lisible (JPEG, PNG ou WebP).")) from None
    pixels.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    # A fresh image holding only the pixels: no info dict, no EXIF, no ICC profile, no comment.
    clean = Image.new("RGB", pixels.size)
    clean.paste(pixels)
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue(), clean.width, clean.height
