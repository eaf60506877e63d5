package a100m;

import org.apache.spark.sql.api.java.UDF1;

/**
 * a100m_word_count(text): the number of runs of non-white-space characters in text, the count
 * of matches of regexp_count(text, '(?U)\S+'), in one pass and without building the matches.
 *
 * White space is java.util.regex's (?U)\s (UNICODE_CHARACTER_CLASS): the Unicode White_Space
 * property as Pattern tests it (CharPredicates.WHITE_SPACE): general category Zs, Zl or Zp, or
 * U+0009..U+000D, or U+0085. No supplementary code point and no surrogate is white space, so
 * walking UTF-16 chars finds the same runs as the regex walking code points. A null text gives
 * null, as regexp_count does.
 */
public final class WordCount implements UDF1<String, Integer> {
  private static final long serialVersionUID = 1L;
  private static final int SEPARATORS =
      (1 << Character.SPACE_SEPARATOR)
          | (1 << Character.LINE_SEPARATOR)
          | (1 << Character.PARAGRAPH_SEPARATOR);

  static boolean isSpace(char c) {
    if (c < 0x80) {
      return c == ' ' || (c >= 0x9 && c <= 0xd);
    }
    return c == 0x85 || ((SEPARATORS >> Character.getType(c)) & 1) != 0;
  }

  public static int count(String text) {
    int words = 0;
    boolean inWord = false;
    for (int i = 0, n = text.length(); i < n; i++) {
      boolean space = isSpace(text.charAt(i));
      if (!space && !inWord) {
        words++;
      }
      inWord = !space;
    }
    return words;
  }

  @Override
  public Integer call(String text) {
    return text == null ? null : count(text);
  }
}
