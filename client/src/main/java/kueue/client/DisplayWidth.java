package kueue.client;

/**
 * How many terminal columns text takes: East Asian wide and full-width characters and emoji take
 * two, combining marks, variation selectors and other zero-width characters none, the rest one (the
 * rules of wcwidth, for the ranges that occur in commands, paths and names).
 */
final class DisplayWidth {
  private DisplayWidth() {}

  /** Columns taken by the whole text. */
  static int of(String text) {
    int width = 0;
    for (int i = 0; i < text.length(); ) {
      int codePoint = text.codePointAt(i);
      width += of(codePoint);
      i += Character.charCount(codePoint);
    }
    return width;
  }

  /** Columns taken by one code point: 0, 1 or 2. */
  static int of(int codePoint) {
    int type = Character.getType(codePoint);
    if (type == Character.NON_SPACING_MARK
        || type == Character.ENCLOSING_MARK
        || type == Character.FORMAT
        || (codePoint >= 0x1160 && codePoint <= 0x11FF)) { // Hangul vowels and finals join
      return 0;
    }
    return isWide(codePoint) ? 2 : 1;
  }

  private static boolean isWide(int c) {
    return (c >= 0x1100 && c <= 0x115F) // Hangul initial consonants
        || (c >= 0x231A && c <= 0x231B) // watch, hourglass
        || (c >= 0x2E80 && c <= 0x303E) // CJK radicals, punctuation
        || (c >= 0x3041 && c <= 0x33FF) // kana, CJK symbols
        || (c >= 0x3400 && c <= 0x4DBF) // CJK extension A
        || (c >= 0x4E00 && c <= 0x9FFF) // CJK unified ideographs
        || (c >= 0xA000 && c <= 0xA4CF) // Yi
        || (c >= 0xAC00 && c <= 0xD7A3) // Hangul syllables
        || (c >= 0xF900 && c <= 0xFAFF) // CJK compatibility ideographs
        || (c >= 0xFE30 && c <= 0xFE4F) // CJK compatibility forms
        || (c >= 0xFF00 && c <= 0xFF60) // full-width forms
        || (c >= 0xFFE0 && c <= 0xFFE6)
        || (c >= 0x1F300 && c <= 0x1F64F) // pictographs, emoticons
        || (c >= 0x1F680 && c <= 0x1F6FF) // transport and map symbols
        || (c >= 0x1F900 && c <= 0x1F9FF) // supplemental symbols and pictographs
        || (c >= 0x1FA70 && c <= 0x1FAFF) // symbols and pictographs extended-A
        || (c >= 0x20000 && c <= 0x2FFFD) // CJK extensions B and later
        || (c >= 0x30000 && c <= 0x3FFFD);
  }
}
