"""Helpers of the reports' tests."""
import io

from PIL import Image

GUERANDE = (-2.4286, 47.3281)       # the old town of Guérande
LA_BAULE = (-2.3920, 47.2860)
OFFSHORE = (-2.70, 47.20)           # the Atlantic, outside every commune


def photo_with_gps(size=(3000, 2000)):
    """A JPEG as a phone writes it: camera make and model, GPS position in its EXIF."""
    image = Image.new("RGB", size, (120, 80, 40))
    exif = Image.Exif()
    exif[0x010F] = "Fabricant"
    exif[0x0110] = "Telephone X"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (47.0, 19.0, 41.0), "W", (2.0, 25.0, 43.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"secret comment")
    data = out.getvalue()
    assert dict(Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825))  # it does carry GPS
    return data


def metadata_of(jpeg):
    """Everything but pixels a JPEG carries: EXIF tags, GPS, info keys (comment, ICC, XMP)."""
    image = Image.open(io.BytesIO(jpeg))
    exif = image.getexif()
    return {"exif": dict(exif), "gps": dict(exif.get_ifd(0x8825)),
            "info": {k: v for k, v in image.info.items()
                     if k not in ("jfif", "jfif_version", "jfif_unit", "jfif_density",
                                  "progressive", "progression")},
            "size": image.size}
