"""Draw the field app's icons (committed PNGs): `.venv/bin/python scripts/draw_field_app_icons.py`.

A blue tile with a white map pin and a water drop: readable at 48 px on a tablet home screen, with
the drawing inside the central 80 % so that a "maskable" crop keeps it whole.
"""
from pathlib import Path

from PIL import Image, ImageDraw

BLUE, WHITE, WATER = (31, 95, 139), (255, 255, 255), (86, 180, 233)
STATIC = Path(__file__).resolve().parent.parent / "fieldsync" / "static" / "terrain"


def draw(size):
    image = Image.new("RGB", (size, size), BLUE)
    pen = ImageDraw.Draw(image)
    s = size / 100
    # The pin: a circle with a point below it.
    pen.ellipse([30 * s, 18 * s, 70 * s, 58 * s], fill=WHITE)
    pen.polygon([(33 * s, 46 * s), (67 * s, 46 * s), (50 * s, 82 * s)], fill=WHITE)
    # The drop inside the pin.
    pen.ellipse([41 * s, 35 * s, 59 * s, 53 * s], fill=WATER)
    pen.polygon([(42 * s, 40 * s), (58 * s, 40 * s), (50 * s, 26 * s)], fill=WATER)
    return image


def main():
    for size in (192, 512):
        draw(size).save(STATIC / f"icon-{size}.png", optimize=True)


if __name__ == "__main__":
    main()
