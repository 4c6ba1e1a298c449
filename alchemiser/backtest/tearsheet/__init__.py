"""The backtest's tearsheet: an interactive, self-contained HTML page (plotly) and a PNG chart (matplotlib).

Both libraries are the CLI's optional dependencies (`pip install 'the-alchemiser[cli]'`), never in a
Lambda bundle: importing this package raises ImportError without them.

    series.py    what is drawn, from the backtest's JSON document (numpy only)
    figures.py   the plotly figures
    tables.py    the HTML tables, the heat map, the range selector
    page.py      the page: figures, data, plotly.js, page.css and page.js inline
    png.py       the PNG (matplotlib)
"""

from alchemiser.backtest.tearsheet.page import render_html, write_html
from alchemiser.backtest.tearsheet.png import write_png

__all__ = ["render_html", "write_html", "write_png"]
