"""Page layout of a print: the PDF page (reportlab) and the PNG image (Pillow).

PDF (A4/A3, landscape or portrait), in millimetres from the top-left of the page:
    title and "C@p Géo — Cap Atlantique", date              (header)
    map frame | legend (landscape: legend on the right; portrait: below the map)
    scale bar, north arrow on the map; attributions          (footer)
PNG: the map at (0, 0) (its pixel size is the PDF frame's at the print resolution), the legend on
its right, the scale bar and north arrow drawn on the map.

The scale bar measures the true ground distance (geodesic, along the map's horizontal middle line):
in Web Mercator a projected metre is not a metre on the ground.
"""
import io
import math
import os
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from PIL import Image, ImageDraw
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from ..mapnik_env import FONTS_DIR
from ..picture import font as pil_font
from ..errors import PrintError
from .ground import fit_bbox, ground_width, north_angle
from .render import attributions, draw_map, legend_pictures

MARGIN, HEADER, FOOTER = 10, 16, 14    # mm
LEGEND_SIDE = 62                        # mm, legend column in landscape
LEGEND_BELOW = 0.3                      # share of the usable height under the map in portrait
INK = (30, 30, 30)


def max_pixels():
    return int(getattr(settings, "CAPGEO_PRINT_MAX_PIXELS", 10_000_000))


def brand():
    name = getattr(settings, "CAPGEO_INTERCOMMUNALITY_NAME", "Cap Atlantique")
    return f"C@p Géo — {name}"


@dataclass
class Layout:
    page: tuple          # (width, height) mm
    map_frame: tuple     # (x, y, width, height) mm from the top-left
    legend_frame: tuple  # (x, y, width, height) mm from the top-left


def layout(request):
    width, height = request.page_mm
    top = MARGIN + HEADER
    usable_w, usable_h = width - 2 * MARGIN, height - top - MARGIN - FOOTER
    if request.orientation == "landscape":
        map_frame = (MARGIN, top, usable_w - LEGEND_SIDE - 4, usable_h)
        legend_frame = (MARGIN + usable_w - LEGEND_SIDE, top, LEGEND_SIDE, usable_h)
    else:
        map_h = usable_h * (1 - LEGEND_BELOW)
        map_frame = (MARGIN, top, usable_w, map_h)
        legend_frame = (MARGIN, top + map_h + 4, usable_w, usable_h - map_h - 4)
    return Layout((width, height), map_frame, legend_frame)


def map_pixels(request, frame):
    """(width, height) of the map image: the frame at the print resolution, capped."""
    width = round(frame[2] / 25.4 * request.dpi)
    height = round(frame[3] / 25.4 * request.dpi)
    if width * height > max_pixels():
        raise PrintError(_("Image trop grande : %(pixels)s pixels, au plus %(max)s ; choisissez un "
                           "format plus petit ou une résolution plus basse.")
                         % {"pixels": f"{width * height:,}".replace(",", " "),
                            "max": f"{max_pixels():,}".replace(",", " ")})
    return width, height


@dataclass
class MapSheet:
    """What every output needs: the drawn map and its measures."""
    picture: Image.Image
    bbox: tuple
    metres_per_pixel: float
    scale: int                 # 1:scale on paper
    north: float               # degrees clockwise from the top of the map to true north
    legends: list              # [(title, Pillow image or None)]
    attributions: list
    failed: list               # remote layers that could not be drawn


def nice_length(metres):
    """The largest 1, 2 or 5 × 10^n not above metres."""
    if metres <= 0:
        return 0
    power = 10 ** math.floor(math.log10(metres))
    for step in (5, 2, 1):
        if step * power <= metres:
            return step * power
    return power


def distance_label(metres):
    if metres >= 1000:
        kilometres = metres / 1000
        return f"{kilometres:g} km"
    return f"{metres:g} m"


def make_sheet(request, printed, frame_mm):
    width, height = map_pixels(request, frame_mm)
    bbox = fit_bbox(request.bbox, width, height)
    ground = ground_width(bbox, request.srid)
    picture, failed = draw_map(printed, request.srid, bbox, width, height)
    return MapSheet(picture=picture, bbox=bbox, metres_per_pixel=ground / width,
                    scale=round(ground / (frame_mm[2] / 1000)),
                    north=north_angle(bbox, request.srid),
                    legends=legend_pictures(printed), attributions=attributions(printed),
                    failed=failed)


def today():
    return date_format(timezone.localdate(), "DATE_FORMAT")


# --- PNG ------------------------------------------------------------------------------------------
def draw_scale_bar(draw, sheet, origin, max_px, size=12):
    """Scale bar at origin (x, y bottom-left) on a white box, at most max_px long."""
    metres = nice_length(sheet.metres_per_pixel * max_px)
    length = max(1, round(metres / sheet.metres_per_pixel))
    x, y = origin
    label = distance_label(metres)
    text_w = draw.textlength(label, font=pil_font(size))
    draw.rectangle((x - 6, y - size - 2, x + length + text_w + 16, y + 6), fill=(255, 255, 255))
    half = length // 2
    draw.rectangle((x, y - 6, x + half, y), fill=INK)
    draw.rectangle((x + half, y - 6, x + length, y), outline=INK, fill=(255, 255, 255))
    draw.text((x + length + 6, y), label, fill=INK, font=pil_font(size), anchor="ld")
    # No 1:N here: an image on screen has no paper scale.
    return metres, length


def draw_north_arrow(draw, right, top, size, angle=0.0):
    """An arrow towards true north (angle: degrees clockwise from the top of the image)."""
    cx, cy = right - size * 1.6, top + size * 2.4
    radians = math.radians(angle)

    def turned(x, y):  # (x, y) relative to the centre, y downwards, turned clockwise
        return (cx + x * math.cos(radians) - y * math.sin(radians),
                cy + x * math.sin(radians) + y * math.cos(radians))

    draw.ellipse((cx - size * 1.3, cy - size * 1.3, cx + size * 1.3, cy + size * 1.3),
                 fill=(255, 255, 255))
    tip, back = turned(0, -size), turned(0, size * 0.25)
    draw.polygon([tip, turned(-size * 0.5, size * 0.6), back], fill=INK)
    draw.polygon([tip, turned(size * 0.5, size * 0.6), back], outline=INK, fill=(255, 255, 255))
    draw.text(turned(0, -size - 2), "N", fill=INK, font=pil_font(max(10, int(size * 0.8)), True),
              anchor="md")


def png(request, printed):
    frame = layout(request).map_frame
    sheet = make_sheet(request, printed, frame)
    map_w, map_h = sheet.picture.size
    gap = 12
    legend_w = min(600, max([pic.width for _title, pic in sheet.legends if pic] + [160])) + 2 * gap
    title_rows = sum((pic.height if pic else 0) + 22 for _title, pic in sheet.legends) + gap
    canvas_h = max(map_h, title_rows)
    image = Image.new("RGB", (map_w + legend_w, canvas_h), (255, 255, 255))
    image.paste(sheet.picture, (0, 0))
    draw = ImageDraw.Draw(image)
    draw.line((map_w, 0, map_w, map_h), fill=(160, 160, 160), width=1)
    draw_scale_bar(draw, sheet, (16, map_h - 14), max(40, map_w // 4))
    draw_north_arrow(draw, map_w - 8, 8, max(12, map_w // 60), sheet.north)
    y = gap
    for title, picture in sheet.legends:
        draw.text((map_w + gap, y), title[:60], fill=INK, font=pil_font(13, True))
        y += 20
        if picture is not None:
            if picture.width > legend_w - 2 * gap:
                picture = picture.resize((legend_w - 2 * gap, max(1, round(
                    picture.height * (legend_w - 2 * gap) / picture.width))))
            image.paste(picture, (map_w + gap, y), picture)
            y += picture.height + 2
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=False, compress_level=6)
    return buffer.getvalue(), sheet.failed


# --- PDF ------------------------------------------------------------------------------------------
def _pdf_fonts():
    """DejaVu (full Unicode: « », −, accents) when found, else the built-in Helvetica."""
    try:
        pdfmetrics.getFont("CapGeoSans")
        return "CapGeoSans", "CapGeoSans-Bold"
    except KeyError:
        pass
    for folder in (FONTS_DIR, "/usr/share/fonts/truetype/dejavu"):
        regular = _find(folder, "DejaVuSans.ttf")
        bold = _find(folder, "DejaVuSans-Bold.ttf")
        if regular and bold:
            pdfmetrics.registerFont(TTFont("CapGeoSans", regular))
            pdfmetrics.registerFont(TTFont("CapGeoSans-Bold", bold))
            return "CapGeoSans", "CapGeoSans-Bold"
    return "Helvetica", "Helvetica-Bold"


def _find(folder, name):
    for root, _dirs, files in os.walk(folder):
        if name in files:
            return os.path.join(root, name)
    return None


def _wrap(text, font_name, size, width):
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if pdfmetrics.stringWidth(candidate, font_name, size) <= width or not line:
            line = candidate
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def pdf(request, printed):
    regular, bold = _pdf_fonts()
    plan = layout(request)
    page_w, page_h = plan.page
    sheet = make_sheet(request, printed, plan.map_frame)
    buffer = io.BytesIO()
    pdf_canvas = canvas.Canvas(buffer, pagesize=(page_w * mm, page_h * mm), pageCompression=1)
    title = request.title or _("Carte")
    pdf_canvas.setTitle(title)
    pdf_canvas.setAuthor(brand())
    pdf_canvas.setCreator("C@p Géo")

    def y(top_mm):  # reportlab's origin is bottom-left
        return (page_h - top_mm) * mm

    # Header.
    pdf_canvas.setFillColorRGB(*(c / 255 for c in INK))
    pdf_canvas.setFont(bold, 16)
    pdf_canvas.drawString(MARGIN * mm, y(MARGIN + 7), title[:120])
    pdf_canvas.setFont(regular, 9)
    pdf_canvas.drawString(MARGIN * mm, y(MARGIN + 12.5), brand())
    pdf_canvas.drawRightString((page_w - MARGIN) * mm, y(MARGIN + 12.5), today())

    # Map, framed.
    x0, top, frame_w, frame_h = plan.map_frame
    pdf_canvas.drawImage(ImageReader(sheet.picture), x0 * mm, y(top + frame_h),
                         frame_w * mm, frame_h * mm)
    pdf_canvas.setLineWidth(0.6)
    pdf_canvas.rect(x0 * mm, y(top + frame_h), frame_w * mm, frame_h * mm)
    _pdf_north_arrow(pdf_canvas, (x0 + frame_w - 9) * mm, y(top + 11), bold, sheet.north)
    _pdf_scale_bar(pdf_canvas, sheet, (x0 + 4) * mm, y(top + frame_h - 5), frame_w, regular)

    # Legend: its frame on the map's page, then as many continuation pages as it needs.
    lx, ltop, lw, lh = plan.legend_frame
    pdf_canvas.setFont(bold, 11)
    pdf_canvas.drawString(lx * mm, y(ltop + 4), _("Légende"))
    columns = 1 if request.orientation == "landscape" else 2
    rest = _pdf_legend(pdf_canvas, sheet.legends, (lx, ltop + 8, lw, lh - 8), columns, y,
                       regular, bold)
    if rest:
        pdf_canvas.setFont(regular, 8)
        pdf_canvas.drawString(lx * mm, y(ltop + lh + 1), _("Suite de la légende page suivante."))

    # Footer: sources and the platform.
    sources = "; ".join(sheet.attributions) or _("C@p Géo")
    pdf_canvas.setFont(regular, 7)
    text = _("Sources : %(sources)s.") % {"sources": sources}
    if sheet.failed:
        text += " " + _("Couches distantes indisponibles, absentes de la carte : %(names)s.") % {
            "names": ", ".join(sheet.failed)}
    footer = top + frame_h if request.orientation == "landscape" else plan.legend_frame[1] + \
        plan.legend_frame[3]
    for index, line in enumerate(_wrap(text, regular, 7, (page_w - 2 * MARGIN) * mm)[:2]):
        pdf_canvas.drawString(MARGIN * mm, y(footer + 4 + index * 3.2), line)
    pdf_canvas.drawRightString(
        (page_w - MARGIN) * mm, y(footer + 11),
        _("Imprimé le %(date)s — %(brand)s — EPSG:%(srid)d") % {
            "date": today(), "brand": brand(), "srid": request.srid})
    pdf_canvas.showPage()
    page = 1
    while rest:
        page += 1
        pdf_canvas.setFillColorRGB(*(c / 255 for c in INK))
        pdf_canvas.setFont(bold, 12)
        pdf_canvas.drawString(MARGIN * mm, y(MARGIN + 7), _("%(title)s — légende (suite)")
                              % {"title": title[:100]})
        pdf_canvas.setFont(regular, 8)
        pdf_canvas.drawRightString((page_w - MARGIN) * mm, y(MARGIN + 7),
                                   _("Page %(page)d") % {"page": page})
        usable_w = page_w - 2 * MARGIN
        columns = max(1, int(usable_w // LEGEND_SIDE))
        before = len(rest)
        rest = _pdf_legend(pdf_canvas, rest, (MARGIN, MARGIN + 14, usable_w,
                                              page_h - 2 * MARGIN - 14), columns, y, regular, bold)
        pdf_canvas.showPage()
        if len(rest) == before:  # an entry taller than a whole page: never loop
            break
    pdf_canvas.save()
    return buffer.getvalue(), sheet.failed


def _pdf_legend(pdf_canvas, legends, frame, columns, y, regular, bold):
    """Draw [(layer title, picture)] in `columns` columns of the frame (x, top, width, height,
    mm); returns the entries that did not fit. A picture wider than its column is scaled down."""
    x, top, width, height = frame
    column_w = width / columns
    column, cursor = 0, top
    for index, (layer_title, picture) in enumerate(legends):
        if picture is None:  # a remote layer without a legend: its title only
            picture = Image.new("RGBA", (1, 1), (255, 255, 255, 0))
        # Legend images are drawn at 96 dpi (about 0.26 mm per pixel).
        pic_w, pic_h = picture.width * 0.2646, picture.height * 0.2646
        scale = min(1.0, (column_w - 2) / pic_w, (height - 5) / pic_h)
        needed = 5 + pic_h * scale + 3
        if cursor + needed > top + height and cursor > top:
            column, cursor = column + 1, top
            if column >= columns:
                return legends[index:]
        column_x = x + column * column_w
        pdf_canvas.setFont(bold, 9)
        pdf_canvas.drawString(column_x * mm, y(cursor + 3), layer_title[:60])
        cursor += 5
        pdf_canvas.drawImage(ImageReader(picture), column_x * mm, y(cursor + pic_h * scale),
                             pic_w * scale * mm, pic_h * scale * mm, mask="auto")
        cursor += pic_h * scale + 3
    return []


def _pdf_scale_bar(pdf_canvas, sheet, x, baseline, frame_w_mm, font_name):
    """A two-segment bar of a round ground length, about a quarter of the frame at most, on a
    white box at the bottom-left of the map."""
    frame_px = sheet.picture.width
    px_per_mm = frame_px / frame_w_mm
    metres = nice_length(sheet.metres_per_pixel * px_per_mm * frame_w_mm / 4)
    length_mm = metres / sheet.metres_per_pixel / px_per_mm
    pdf_canvas.setFillColorRGB(1, 1, 1)
    pdf_canvas.rect(x - 2 * mm, baseline - 4.5 * mm, (length_mm + 38) * mm, 8 * mm, fill=1,
                    stroke=0)
    pdf_canvas.setStrokeColorRGB(*(c / 255 for c in INK))
    pdf_canvas.setLineWidth(0.5)
    half = length_mm / 2 * mm
    pdf_canvas.setFillColorRGB(*(c / 255 for c in INK))
    pdf_canvas.rect(x, baseline, half, 1.6 * mm, fill=1, stroke=1)
    pdf_canvas.setFillColorRGB(1, 1, 1)
    pdf_canvas.rect(x + half, baseline, half, 1.6 * mm, fill=1, stroke=1)
    pdf_canvas.setFillColorRGB(*(c / 255 for c in INK))
    pdf_canvas.setFont(font_name, 8)
    pdf_canvas.drawString(x, baseline - 3.2 * mm, "0")
    pdf_canvas.drawCentredString(x + length_mm * mm, baseline - 3.2 * mm, distance_label(metres))
    pdf_canvas.drawString(x + length_mm * mm + 8 * mm, baseline,
                          _("Échelle 1:%(scale)s")
                          % {"scale": f"{sheet.scale:,}".replace(",", " ")})


def _pdf_north_arrow(pdf_canvas, cx, cy, font_name, angle=0.0):
    """An arrow towards true north (angle: degrees clockwise from the top of the page)."""
    size = 4 * mm
    pdf_canvas.saveState()
    pdf_canvas.setFillColorRGB(1, 1, 1)
    pdf_canvas.circle(cx, cy, size * 1.6, fill=1, stroke=0)
    pdf_canvas.translate(cx, cy)
    pdf_canvas.rotate(-angle)  # reportlab turns counter-clockwise
    cx = cy = 0
    pdf_canvas.setFillColorRGB(*(c / 255 for c in INK))
    path = pdf_canvas.beginPath()
    path.moveTo(cx, cy + size)
    path.lineTo(cx - size * 0.5, cy - size * 0.7)
    path.lineTo(cx, cy - size * 0.3)
    path.close()
    pdf_canvas.drawPath(path, fill=1, stroke=1)
    path = pdf_canvas.beginPath()
    path.moveTo(cx, cy + size)
    path.lineTo(cx + size * 0.5, cy - size * 0.7)
    path.lineTo(cx, cy - size * 0.3)
    path.close()
    pdf_canvas.drawPath(path, fill=0, stroke=1)
    pdf_canvas.setFont(font_name, 7)
    pdf_canvas.drawCentredString(cx, cy + size + 0.6 * mm, "N")
    pdf_canvas.restoreState()
