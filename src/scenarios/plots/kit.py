"""Building blocks for figures drawn outside this package (calibration, national view, report tables).

The figure modules of this package use them under private names; other modules use these public ones, so every
figure in the project has one look (fonts, colours, date axes, source line) without reaching into private helpers.

Examples
--------
>>> from scenarios.plots import kit
>>> kit.check_lang("vi"), kit.words("activation", "en")
('vi', 'Plan activation date')
"""

from ._format import _C as COLOURS
from ._format import _date_axis as date_axis
from ._format import _decorate as decorate
from ._format import _legend as legend
from ._format import _new_figure as new_figure
from ._format import _number_formatter as number_formatter
from ._format import _rc as style
from ._marks import _vline as vline
from ._words import _check_lang as check_lang
from ._words import _t as words

__all__ = [
    "COLOURS",
    "check_lang",
    "date_axis",
    "decorate",
    "legend",
    "new_figure",
    "number_formatter",
    "style",
    "vline",
    "words",
]
