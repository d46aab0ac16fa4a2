"""Tables as Markdown: unstructured's `text_as_html` becomes a pipe table with a header row.

Merged cells (colspan, rowspan) repeat their text in every cell they cover, so each row reads whole;
columns and rows with no text at all are dropped.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser

Grid = list[list[str]]
MAX_SPAN = 100  # a colspan or rowspan counts at most this many cells
MAX_CELLS = 250_000  # a bigger grid is not drawn: the table falls back to its plain text
_BREAKING_TAGS = {"br", "p", "div", "li", "table", "tr", "td", "th"}


@dataclass
class _Cell:
    text: list[str] = field(default_factory=list)
    colspan: int = 1
    rowspan: int = 1


class _TableParser(HTMLParser):
    """Collects the rows of the outermost table; a table nested in a cell becomes that cell's text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[_Cell]] = []
        self._depth = 0
        self._cell: _Cell | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open rows and cells of the outer table; a block tag inside a cell separates words."""
        if tag == "table":
            self._depth += 1
        if self._depth == 1 and tag == "tr":
            self.rows.append([])
        elif self._depth == 1 and tag in ("td", "th"):
            if not self.rows:
                self.rows.append([])
            spans = dict(attrs)
            self._cell = _Cell(colspan=_span(spans.get("colspan")), rowspan=_span(spans.get("rowspan")))
            self.rows[-1].append(self._cell)
        elif self._cell is not None and tag in _BREAKING_TAGS:
            self._cell.text.append(" ")

    def handle_endtag(self, tag: str) -> None:
        """Close cells, rows and tables."""
        if self._depth == 1 and tag in ("td", "th", "tr"):
            self._cell = None
        elif self._cell is not None and tag in _BREAKING_TAGS:
            self._cell.text.append(" ")
        if tag == "table":
            self._depth = max(self._depth - 1, 0)

    def handle_data(self, data: str) -> None:
        """Text inside a cell belongs to it."""
        if self._cell is not None:
            self._cell.text.append(data)


def _span(value: str | None) -> int:
    """A colspan/rowspan attribute as a count from 1 to MAX_SPAN (1 when missing or malformed)."""
    try:
        return min(max(int(value or 1), 1), MAX_SPAN)
    except ValueError:
        return 1


def cell_text(text: str) -> str:
    """One cell's text for a pipe table: NFKC-normalised, whitespace collapsed, pipes escaped."""
    return " ".join(unicodedata.normalize("NFKC", text).split()).replace("|", "\\|")


def html_table_grid(html: str) -> Grid:
    """An HTML table as a rectangular grid, merged cells repeated; [] when it would pass MAX_CELLS."""
    parser = _TableParser()
    parser.feed(html)
    parser.close()
    placed: dict[tuple[int, int], str] = {}
    for r, row in enumerate(parser.rows):
        c = 0
        for cell in row:
            while (r, c) in placed:
                c += 1
            text = cell_text("".join(cell.text))
            for dr in range(min(cell.rowspan, len(parser.rows) - r)):
                for dc in range(cell.colspan):
                    placed[(r + dr, c + dc)] = text
            c += cell.colspan
        if len(placed) > MAX_CELLS:
            return []
    if not placed:
        return []
    n_rows = max(r for r, _ in placed) + 1
    n_cols = max(c for _, c in placed) + 1
    if n_rows * n_cols > MAX_CELLS:
        return []
    return [[placed.get((r, c), "") for c in range(n_cols)] for r in range(n_rows)]


def drop_empty(grid: Grid) -> Grid:
    """The grid without rows and columns that hold no text in any cell."""
    rows = [row for row in grid if any(row)]
    keep = [c for c in range(max((len(r) for r in rows), default=0)) if any(row[c] for row in rows)]
    return [[row[c] for c in keep] for row in rows]


def grid_to_markdown(grid: Grid) -> str:
    """A pipe table whose first row is the header row."""
    lines = ["|" + "|".join(f" {cell} " if cell else " " for cell in row) + "|" for row in grid]
    lines.insert(1, "|" + " --- |" * len(grid[0]))
    return "\n".join(lines)


def html_table_to_markdown(html: str) -> str | None:
    """An HTML table as a Markdown pipe table; None when it holds no text."""
    grid = drop_empty(html_table_grid(html))
    return grid_to_markdown(grid) if grid else None
