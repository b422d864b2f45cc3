package kueue.client;

import java.util.ArrayList;
import java.util.List;

/**
 * An aligned table that fits a given width: when too wide, the widest clippable column loses a
 * character at a time until the table fits or every clippable column is at its minimum; if it is
 * still too wide, the columns marked as droppable go, the least needed first. Paths are clipped at
 * the front (the end of a path says most), commands at the back.
 */
final class TextTable {
  static final String ELLIPSIS = "…";
  private static final String GAP = "  ";

  enum Align {
    LEFT,
    RIGHT
  }

  enum Clip {
    NONE,
    FRONT,
    BACK
  }

  /**
   * @param lastResort clipped only once the other clippable columns are at their minimum, for short
   *     columns such as a status whose every character matters
   * @param dropRank 0: always shown; otherwise left out when the table does not fit even with every
   *     column clipped, the highest rank first
   */
  record Column(
      String header, Align align, Clip clip, int minWidth, boolean lastResort, int dropRank) {
    static Column left(String header) {
      return new Column(header, Align.LEFT, Clip.NONE, 0, false, 0);
    }

    static Column right(String header) {
      return new Column(header, Align.RIGHT, Clip.NONE, 0, false, 0);
    }

    static Column clipFront(String header, int minWidth) {
      return new Column(header, Align.LEFT, Clip.FRONT, minWidth, false, 0);
    }

    static Column clipBack(String header, int minWidth) {
      return new Column(header, Align.LEFT, Clip.BACK, minWidth, false, 0);
    }

    Column asLastResort() {
      return new Column(header, align, clip, minWidth, true, dropRank);
    }

    /** Left out of a table too wide for the terminal; a higher rank goes first. */
    Column droppable(int rank) {
      return new Column(header, align, clip, minWidth, lastResort, rank);
    }
  }

  record Cell(String text, Style style) {
    static Cell of(String text) {
      return new Cell(text, Style.PLAIN);
    }
  }

  private final List<Column> columns;
  private final List<List<Cell>> rows = new ArrayList<>();

  TextTable(List<Column> columns) {
    this.columns = List.copyOf(columns);
  }

  TextTable row(List<Cell> cells) {
    if (cells.size() != columns.size()) {
      throw new IllegalArgumentException(
          "a row needs " + columns.size() + " cells, got " + cells.size());
    }
    List<Cell> clean = new ArrayList<>(cells.size());
    for (Cell cell : cells) {
      clean.add(new Cell(oneLine(cell.text()), cell.style()));
    }
    rows.add(clean);
    return this;
  }

  TextTable row(String... cells) {
    List<Cell> list = new ArrayList<>();
    for (String text : cells) {
      list.add(Cell.of(text));
    }
    return row(list);
  }

  /** The lines of the table, header first, none longer than {@code width} if possible. */
  List<String> render(int width, boolean colors) {
    int[] widths = fit(naturalWidths(), width);
    int drop = droppedFirst();
    if (total(widths) > width && drop >= 0) {
      return without(drop).render(width, colors);
    }
    List<String> lines = new ArrayList<>(rows.size() + 1);
    List<Cell> header = new ArrayList<>();
    for (Column column : columns) {
      header.add(new Cell(column.header(), Style.BOLD));
    }
    lines.add(line(header, widths, colors));
    for (List<Cell> row : rows) {
      lines.add(line(row, widths, colors));
    }
    return lines;
  }

  private static int total(int[] widths) {
    int total = GAP.length() * (widths.length - 1);
    for (int w : widths) {
      total += w;
    }
    return total;
  }

  /** The droppable column with the highest rank, or -1. */
  private int droppedFirst() {
    int drop = -1;
    for (int i = 0; i < columns.size(); i++) {
      int rank = columns.get(i).dropRank();
      if (rank > 0 && (drop < 0 || rank > columns.get(drop).dropRank())) {
        drop = i;
      }
    }
    return drop;
  }

  private TextTable without(int column) {
    List<Column> kept = new ArrayList<>(columns);
    kept.remove(column);
    TextTable smaller = new TextTable(kept);
    for (List<Cell> row : rows) {
      List<Cell> cells = new ArrayList<>(row);
      cells.remove(column);
      smaller.rows.add(cells);
    }
    return smaller;
  }

  private int[] naturalWidths() {
    int[] widths = new int[columns.size()];
    for (int i = 0; i < columns.size(); i++) {
      widths[i] = length(columns.get(i).header());
      for (List<Cell> row : rows) {
        widths[i] = Math.max(widths[i], length(row.get(i).text()));
      }
    }
    return widths;
  }

  private int[] fit(int[] widths, int limit) {
    int total = GAP.length() * (widths.length - 1);
    for (int w : widths) {
      total += w;
    }
    while (total > limit) {
      int widest = widestShrinkable(widths, false);
      if (widest < 0) {
        widest = widestShrinkable(widths, true);
      }
      if (widest < 0) {
        break;
      }
      widths[widest]--;
      total--;
    }
    return widths;
  }

  /** Headers are never clipped: a clipped cell is still recognisable, a clipped header is not. */
  private static int floor(Column column) {
    return Math.max(1, Math.max(column.minWidth(), length(column.header())));
  }

  /** The widest column that may still lose a character; on a tie the one further right. */
  private int widestShrinkable(int[] widths, boolean lastResort) {
    int widest = -1;
    for (int i = 0; i < widths.length; i++) {
      Column column = columns.get(i);
      if (column.clip() != Clip.NONE
          && column.lastResort() == lastResort
          && widths[i] > floor(column)
          && (widest < 0 || widths[i] >= widths[widest])) {
        widest = i;
      }
    }
    return widest;
  }

  private String line(List<Cell> cells, int[] widths, boolean colors) {
    StringBuilder line = new StringBuilder();
    for (int i = 0; i < cells.size(); i++) {
      Column column = columns.get(i);
      boolean last = i == cells.size() - 1;
      String text = clip(cells.get(i).text(), widths[i], column.clip());
      int padding = widths[i] - length(text);
      if (i > 0) {
        line.append(GAP);
      }
      if (column.align() == Align.RIGHT) {
        line.append(" ".repeat(padding)).append(cells.get(i).style().apply(text, colors));
      } else {
        line.append(cells.get(i).style().apply(text, colors));
        if (!last) {
          line.append(" ".repeat(padding));
        }
      }
    }
    return stripTrailing(line.toString());
  }

  private static String stripTrailing(String line) {
    int end = line.length();
    while (end > 0 && line.charAt(end - 1) == ' ') {
      end--;
    }
    return line.substring(0, end);
  }

  /**
   * Shortens {@code text} to {@code width} terminal columns, marking the cut with an ellipsis. A
   * wide character that would straddle the cut goes entirely.
   */
  static String clip(String text, int width, Clip clip) {
    int length = length(text);
    if (length <= width || clip == Clip.NONE) {
      return text;
    }
    if (width <= 0) {
      return "";
    }
    if (width == 1) {
      return ELLIPSIS;
    }
    int budget = width - 1;
    if (clip == Clip.FRONT) {
      int start = text.length();
      while (start > 0) {
        int codePoint = text.codePointBefore(start);
        int cost = DisplayWidth.of(codePoint);
        if (cost > budget) {
          break;
        }
        budget -= cost;
        start -= Character.charCount(codePoint);
      }
      return ELLIPSIS + text.substring(start);
    }
    int end = 0;
    while (end < text.length()) {
      int codePoint = text.codePointAt(end);
      int cost = DisplayWidth.of(codePoint);
      if (cost > budget) {
        break;
      }
      budget -= cost;
      end += Character.charCount(codePoint);
    }
    return text.substring(0, end) + ELLIPSIS;
  }

  /** Terminal columns, not characters: CJK text and emoji take two each. */
  static int length(String text) {
    return DisplayWidth.of(text);
  }

  /** Control characters in a cell (a newline in a command, an escape) would break the table. */
  private static String oneLine(String text) {
    if (text == null) {
      return "";
    }
    StringBuilder clean = new StringBuilder(text.length());
    text.codePoints().forEach(c -> clean.appendCodePoint(Character.isISOControl(c) ? ' ' : c));
    return clean.toString();
  }
}
