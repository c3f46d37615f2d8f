"""The after-action report as a PDF, for the people outside the terminal.

The PDF is made from the report's own HTML (aar.py renders one document to Markdown and
HTML, so the three never disagree) by WeasyPrint: a maintained HTML/CSS-to-PDF library in
pure Python over Pango, which Debian and most Linux images ship; it lays out tables, pages
and fonts properly and needs no browser. Chinese text needs a CJK font: the Noto Sans CJK
face the project's plots already use (the mplfonts package) is embedded with @font-face, so
the PDF reads the same on any machine. The plots go in as their PNG twins.
"""

from __future__ import annotations

from pathlib import Path

from simulation.errors import SimulationError

__all__ = ["export_pdf", "cjk_font"]

PAGE_CSS = """
@page { size: A4; margin: 16mm 14mm; @bottom-right { content: counter(page) " / "
        counter(pages); font-size: 8pt; color: #666; } }
body { font-family: "Muster CJK", sans-serif; font-size: 9.5pt; max-width: none;
       margin: 0; }
table { font-size: 8pt; width: 100%; page-break-inside: auto; }
tr { page-break-inside: avoid; }
img { max-width: 100%; }
h1 { font-size: 16pt; } h2 { font-size: 13pt; page-break-after: avoid; }
h3 { font-size: 11pt; page-break-after: avoid; }
"""


def cjk_font() -> Path | None:
    """The CJK font file the plots use (mplfonts' Noto Sans CJK SC), or None."""
    try:
        import mplfonts
    except ImportError:
        return None
    folder = Path(mplfonts.__file__).parent / "fonts"
    for name in ("NotoSansCJKsc-Regular.otf", "SourceHanSerifSC-Regular.otf"):
        if (folder / name).is_file():
            return folder / name
    return None


def export_pdf(folder: Path) -> Path:
    """Write `after-action.pdf` beside `after-action.html` in `folder`; its path."""
    page = folder / "after-action.html"
    if not page.is_file():
        raise SimulationError(f"{page}: error: no after-action report here to export")
    try:
        from weasyprint import CSS, HTML
        from weasyprint.text.fonts import FontConfiguration
    except (ImportError, OSError) as exc:  # OSError: the Pango library is missing
        raise SimulationError(f"{page}: error: PDF export needs WeasyPrint (pip install "
                              f"'muster[pdf]'; on Debian also libpango-1.0-0): {exc}") from None
    text = page.read_text(encoding="utf-8")
    for plot in ("timeline", "kpis"):
        text = text.replace(f'src="{plot}.svg"', f'src="{plot}.png"')
    font = cjk_font()
    face = (f'@font-face {{ font-family: "Muster CJK"; src: url("{font.as_uri()}"); }}'
            if font is not None else "")
    out = folder / "after-action.pdf"
    tmp = folder / ".after-action.pdf.tmp"
    fonts = FontConfiguration()  # @font-face is honoured only through one of these
    HTML(string=text, base_url=str(folder.resolve()) + "/").write_pdf(
        tmp, stylesheets=[CSS(string=face + PAGE_CSS, font_config=fonts)], font_config=fonts)
    tmp.replace(out)
    return out
