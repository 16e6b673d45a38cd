"""The visit report of a validated control, laid out with reportlab (A4, French).

Fonts: DejaVu Sans (shipped with Mapnik's wheel, also a Debian package), so that any owner's
name prints, not only Latin-1. Texts come from the control's rows and vocabularies; dates are
formatted for France whatever the language of the person who downloads it.
"""
import io
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import gettext as _t
from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm, mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    CondPageBreak, Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle,
)

from ..models import FindingCategory, FindingResult, Zone
from ..photos import final_path
from ..verdict import worst_category
from . import map_extract, mentions

logger = logging.getLogger(__name__)
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu",)
ACCENT = colors.HexColor("#1f5f8b")
MUTED = colors.HexColor("#5d6d7e")
DEFECT = colors.HexColor("#b03a2e")
PHOTO_CM = 5.2
PHOTOS_PER_ROW = 3


@lru_cache(maxsize=1)
def fonts():
    """(regular, bold) font names: DejaVu Sans when found, else Helvetica."""
    from maps.mapnik_env import FONTS_DIR

    for folder in (FONTS_DIR, *FONT_DIRS):
        regular = os.path.join(folder, "DejaVuSans.ttf")
        bold = os.path.join(folder, "DejaVuSans-Bold.ttf")
        if os.path.exists(regular) and os.path.exists(bold):
            pdfmetrics.registerFont(TTFont("DejaVuSans", regular))
            pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", bold))
            return "DejaVuSans", "DejaVuSans-Bold"
    return "Helvetica", "Helvetica-Bold"


def styles():
    regular, bold = fonts()
    base = ParagraphStyle("base", fontName=regular, fontSize=9.5, leading=12.5)
    return {
        "base": base,
        "title": ParagraphStyle("title", base, fontName=bold, fontSize=17, leading=21,
                                textColor=ACCENT, spaceAfter=2 * mm),
        "subtitle": ParagraphStyle("subtitle", base, fontSize=11, leading=14, textColor=MUTED,
                                   spaceAfter=4 * mm),
        "h2": ParagraphStyle("h2", base, fontName=bold, fontSize=12, leading=15,
                             textColor=ACCENT, spaceBefore=5 * mm, spaceAfter=2 * mm),
        "label": ParagraphStyle("label", base, fontName=bold),
        "small": ParagraphStyle("small", base, fontSize=7.8, leading=10, textColor=MUTED),
        "mention": ParagraphStyle("mention", base, fontSize=7.8, leading=10, textColor=MUTED,
                                  spaceAfter=1.6 * mm),
        "caption": ParagraphStyle("caption", base, fontSize=7.8, leading=10, alignment=TA_CENTER),
        "verdict": ParagraphStyle("verdict", base, fontName=bold, fontSize=13, leading=17),
        "cell": ParagraphStyle("cell", base, fontSize=8.5, leading=11),
        "defect": ParagraphStyle("defect", base, fontName=bold, fontSize=8.5, leading=11,
                                 textColor=DEFECT),
    }


def heading(text, style, room=4 * cm):
    """A section title that never ends a page alone."""
    return [CondPageBreak(room), p(text, style["h2"])]


def p(text, style):
    return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)


def day(value):
    return formats.date_format(value, "j F Y") if value else "—"


@dataclass
class Header:
    service: str
    body: str      # the intercommunality (or the commune) the SPANC belongs to
    contact: str


def header_for(control):
    commune = control.installation.commune
    body = (commune.intercommunality.name if commune.intercommunality_id
            else settings.CAPGEO_INTERCOMMUNALITY_NAME)
    return Header(
        service=getattr(settings, "SPANC_REPORT_SERVICE",
                        _t("Service public d'assainissement non collectif (SPANC)")),
        body=body, contact=getattr(settings, "SPANC_REPORT_CONTACT", ""))


def _page_decorations(header, reference):
    regular, bold = fonts()

    def draw(canvas, document):
        width, height = A4
        canvas.saveState()
        canvas.setFillColor(ACCENT)
        canvas.setFont(bold, 10)
        canvas.drawString(document.leftMargin, height - 1.2 * cm, header.body[:110])
        canvas.setFont(regular, 8.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(document.leftMargin, height - 1.6 * cm,
                          (header.service + (" — " + header.contact if header.contact else ""))[:140])
        canvas.setStrokeColor(ACCENT)
        canvas.setLineWidth(0.8)
        canvas.line(document.leftMargin, height - 1.8 * cm, width - document.rightMargin,
                    height - 1.8 * cm)
        canvas.setFont(regular, 7.5)
        canvas.drawString(document.leftMargin, 1.0 * cm, reference[:150])
        canvas.drawRightString(width - document.rightMargin, 1.0 * cm,
                               _t("Page %(page)d") % {"page": document.page})
        canvas.restoreState()
    return draw


def _rows_table(rows, style, widths=(4.8 * cm, 12.2 * cm)):
    table = Table([[p(label, style["label"]), p(value, style["base"])] for label, value in rows],
                  colWidths=widths, hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
                               ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#d5dbdb"))]))
    return table


# What the report prints of the owner (journaled as a read of personal data: report/views.py).
OWNER_PRINTED = ["proprietaire", "adresse_proprietaire"]


def installation_rows(control):
    installation = control.installation
    owner = ", ".join(filter(None, [installation.owner_name, installation.owner_address]))
    return [
        (_t("Adresse"), installation.address or "—"),
        (_t("Commune"), f"{installation.commune.name} ({installation.commune.insee})"),
        (_t("Parcelles cadastrales"), ", ".join(installation.parcels) or "—"),
        (_t("Propriétaire"), owner or "—"),
        (_t("Capacité"), _t("%(eh)d EH") % {"eh": installation.capacity_eh}
         if installation.capacity_eh else "—"),
        (_t("Mise en service"), installation.year_built or "—"),
        (_t("Situation"), Zone(installation.zone).label),
        (_t("Coordonnées (Lambert-93)"),
         f"X = {installation.location.x:.0f} m, Y = {installation.location.y:.0f} m"),
    ]


def control_rows(control):
    inspector = control.inspector.get_full_name() or control.inspector.username \
        if control.inspector else "—"
    rows = [
        (_t("Nature du contrôle"), control.kind.label),
        (_t("Date de la visite"), day(control.visit_date)),
        (_t("Contrôleur"), inspector),
        (_t("Validé le"), day(timezone.localdate(control.decided_at))
         if control.decided_at else "—"),
    ]
    if control.kind.is_sale:
        rows.append((_t("Date de la vente"), day(control.sale_date)
                     if control.sale_date else _t("non connue à la date du contrôle")))
    return rows


def findings_table(findings, style):
    head = [p(_t("Point de contrôle"), style["label"]), p(_t("Catégorie (annexe II)"),
                                                          style["label"]),
            p(_t("Résultat"), style["label"]), p(_t("Remarque"), style["label"])]
    rows = [head]
    for finding in findings:
        defect = finding.result == FindingResult.DEFECT
        rows.append([
            p(finding.item.label, style["cell"]),
            p(FindingCategory(finding.item.category).label, style["cell"]),
            p(finding.get_result_display(), style["defect" if defect else "cell"]),
            p(finding.comment or "", style["cell"]),
        ])
    table = Table(rows, colWidths=(6.2 * cm, 4.3 * cm, 2.5 * cm, 4.0 * cm), repeatRows=1,
                  hAlign="LEFT")
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eaf1f6")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#c5ced6")),
    ]))
    return table


def works_text(control):
    if not control.works_required or control.works_deadline is None:
        return _t("Aucuns travaux obligatoires.")
    deadline = control.works_deadline
    if deadline.as_soon_as_possible:
        return _t("Travaux obligatoires dès que possible (%(label)s).") % {"label": deadline.label}
    if control.works_due_on:
        return _t("Travaux obligatoires — %(label)s : au plus tard le %(date)s.") % {
            "label": deadline.label, "date": day(control.works_due_on)}
    if control.kind.is_sale:
        return _t("Travaux obligatoires — %(label)s : au plus tard un an après la signature de "
                  "l'acte de vente.") % {"label": deadline.label}
    return _t("Travaux obligatoires — %(label)s.") % {"label": deadline.label}


def verdict_block(control, findings, style):
    conclusion = control.conclusion
    category = worst_category([(f.item, f.result) for f in findings])
    color = colors.HexColor(conclusion.color) if conclusion else MUTED
    next_control = day(control.next_control_on) if control.next_control_on else (
        _t("sans objet pour cette nature de contrôle") if not control.kind.periodic else "—")
    content = [
        p(conclusion.label if conclusion else "—", style["verdict"]),
        p(_t("Constat le plus grave : %(category)s ; %(zone)s.") % {
            "category": FindingCategory(category).label,
            "zone": Zone(control.installation.zone).label}, style["base"]),
        Spacer(1, 1.5 * mm),
        p(works_text(control), style["label"]),
        p(_t("Prochain contrôle périodique : %(date)s.") % {"date": next_control}, style["base"]),
    ]
    box = Table([[content]], colWidths=(17 * cm,), hAlign="LEFT")
    box.setStyle(TableStyle([
        ("BOX", (0, 0), (-1, -1), 1, color),
        ("LINEBEFORE", (0, 0), (0, -1), 6, color),
        ("LEFTPADDING", (0, 0), (-1, -1), 10), ("TOPPADDING", (0, 0), (-1, -1), 6),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
    ]))
    return box


def photo_thumbnail(blob):
    """A reportlab Image of a photo, reduced for print (None when the file is unreadable)."""
    try:
        with PILImage.open(final_path(blob.sha256)) as picture:
            picture = ImageOps.exif_transpose(picture).convert("RGB")
            picture.thumbnail((600, 600))
            buffer = io.BytesIO()
            picture.save(buffer, "JPEG", quality=80)
            width, height = picture.size
    except (OSError, UnidentifiedImageError):
        return None
    buffer.seek(0)
    scale = PHOTO_CM * cm / max(width, height)
    return Image(buffer, width=width * scale, height=height * scale)


def photos_grid(photos, style):
    cells = []
    for photo in photos:
        image = photo_thumbnail(photo.blob) if photo.proven else None
        caption = photo.caption or ""
        if photo.taken_at:
            caption = f"{caption} ({day(timezone.localdate(photo.taken_at))})".strip()
        cells.append([image or p(_t("Photo indisponible"), style["small"]),
                      p(caption, style["caption"])])
    if not cells:
        return None
    rows = [cells[i:i + PHOTOS_PER_ROW] for i in range(0, len(cells), PHOTOS_PER_ROW)]
    rows[-1] += [""] * (PHOTOS_PER_ROW - len(rows[-1]))
    table = Table(rows, colWidths=[17 * cm / PHOTOS_PER_ROW] * PHOTOS_PER_ROW, hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("ALIGN", (0, 0), (-1, -1), "CENTER")]))
    return table


def map_block(extract, title, style):
    width = map_extract.PRINT_WIDTH_CM * cm
    image = Image(io.BytesIO(extract.png), width=width, height=width * extract.height / extract.width)
    sources = ", ".join(filter(None, {layer.attribution for layer in extract.layers}))
    caption = _t("%(title)s — échelle 1:%(scale)s environ ; le point rouge situe l'installation.") % {
        "title": title, "scale": formats.number_format(round(extract.scale, -2), 0,
                                                       force_grouping=True)}
    if sources:
        caption += " " + _t("Sources : %(sources)s.") % {"sources": sources}
    return KeepTogether([image, p(caption, style["small"])])


def build(control, user, invariant=False):
    """The report's PDF bytes. The caller checked that the control is validated and that the user
    may see its owner; maps are drawn through the user's access policy."""
    style = styles()
    header = header_for(control)
    installation = control.installation
    findings = list(control.findings.select_related("item").order_by("item__order", "item__code"))
    reference = _t("Rapport de visite — %(address)s, %(commune)s — contrôle %(id)s") % {
        "address": installation.address or "—", "commune": installation.commune.name,
        "id": str(control.uuid)[:8]}
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=2 * cm, rightMargin=2 * cm, topMargin=2.3 * cm,
        bottomMargin=1.6 * cm, title=_t("Rapport de visite SPANC"), author=header.body,
        subject=reference, creator="C@p Géo", lang="fr-FR", invariant=int(invariant))
    story = [
        p(_t("Rapport de visite"), style["title"]),
        p(f"{control.kind.label} — {installation.address or '—'}, {installation.commune.name}",
          style["subtitle"]),
        *heading(_t("Installation"), style), _rows_table(installation_rows(control), style),
        *heading(_t("Contrôle"), style), _rows_table(control_rows(control), style),
        *heading(_t("Conclusion"), style), verdict_block(control, findings, style),
        *heading(_t("Constats"), style),
        findings_table(findings, style) if findings else p(_t("Aucun constat."), style["base"]),
        *heading(_t("Observations"), style), p(control.comments or "—", style["base"]),
    ]
    photos = photos_grid(control.photos.select_related("blob").order_by("taken_at", "id"), style)
    if photos is not None:
        story += [*heading(_t("Photos"), style, 7 * cm), photos]
    story += heading(_t("Plans"), style, 12 * cm)
    try:
        situation = map_extract.situation_map(user, installation)
        detail = map_extract.detail_map(user, installation)
    except (RuntimeError, OSError):  # Mapnik or its database: the report goes out without maps
        logger.exception("Plans du rapport de visite %s non dessinés", control.uuid)
        story.append(p(_t("Plans indisponibles : le moteur cartographique n'a pas répondu."),
                       style["base"]))
    else:
        story.append(map_block(situation, _t("Plan de situation"), style))
        if detail is not None:
            story += [Spacer(1, 4 * mm), map_block(detail, _t("Extrait du plan"), style)]
    story += heading(_t("Mentions légales"), style, 6 * cm)
    story += [p(text, style["mention"]) for text in mentions.all_mentions(header.body)]
    decorate = _page_decorations(header, reference)
    document.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()
