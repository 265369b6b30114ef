"""The annex as a Word document: figures sized for a page column, editable tables, captions.

Plans are Word documents: :func:`write_docx` lays out a title, the source line, each figure (PNG at 16 cm,
the width of an A4 page column with 2.5 cm margins) with a numbered caption, and each table as a real Word
table a planner can edit, all in the report's language.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .plots import Lang
from .results import write_atomic

__all__ = ["COLUMN_CM", "write_docx"]

#: Width of a figure in the Word annex: an A4 page (21 cm) less 2.5 cm margins each side, less a little.
COLUMN_CM = 16.0

_CAPTION = {"vi": ("Hình", "Bảng"), "en": ("Figure", "Table")}


def write_docx(
    path: str | Path,
    title: str,
    figures: Sequence[tuple[bytes, str]],
    tables: Sequence[tuple[str, pd.DataFrame]],
    lang: Lang,
    source: str = "",
) -> Path:
    """Write the Word annex, atomically.

    Parameters
    ----------
    path : str or Path
        The ``.docx`` file.
    title : str
        Heading of the annex.
    figures : sequence of (PNG bytes, caption)
        Figures, each inserted 16 cm wide with "Hình N. caption" (``Figure N.`` in English) under it.
    tables : sequence of (caption, DataFrame)
        Tables, written as Word tables (text cells, header row bold) with "Bảng N. caption" above.
    lang : {"vi", "en"}
        Language of the captions' words.
    source : str
        The source line, written under the title.

    Returns
    -------
    Path
    """
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.shared import Cm, Pt

    fig_word, table_word = _CAPTION[lang]

    def write(tmp: Path) -> None:
        doc = Document()
        section = doc.sections[0]
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Cm(21.0), Cm(29.7)
        for side in ("left_margin", "right_margin"):
            setattr(section, side, Cm(2.5))
        style = doc.styles["Normal"]
        style.font.name = "Times New Roman"  # the usual face of Vietnamese administrative documents
        style.font.size = Pt(12)
        doc.core_properties.title = title
        doc.add_heading(title, level=1)
        if source:
            doc.add_paragraph(source).runs[0].font.size = Pt(9)
        for k, (caption, df) in enumerate(tables, start=1):
            doc.add_paragraph(f"{table_word} {k}. {caption}").runs[0].bold = True
            grid = doc.add_table(rows=1, cols=len(df.columns))
            grid.style = "Table Grid"
            for cell, head in zip(grid.rows[0].cells, df.columns, strict=True):
                cell.text = str(head)
                cell.paragraphs[0].runs[0].bold = True
            for row in df.itertuples(index=False):
                cells = grid.add_row().cells
                for cell, value in zip(cells, row, strict=True):
                    cell.text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
            doc.add_paragraph()
        for k, (png, caption) in enumerate(figures, start=1):
            doc.add_picture(io.BytesIO(png), width=Cm(COLUMN_CM))
            doc.add_paragraph(f"{fig_word} {k}. {caption}").runs[0].italic = True
        doc.save(tmp)

    return write_atomic(path, write)
