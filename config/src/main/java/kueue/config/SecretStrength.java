package kueue.config;

/**
 * A conservative estimate of how hard a shared secret is to guess, in bits. It errs towards too low
 * for what people type (words, years, keyboard runs, repeats) and stays near the truth for random
 * strings, such as the 256-bit secret of the generated template or {@code openssl rand -base64 32}.
 *
 * <p>Each character counts for the bits of the alphabet it was drawn from (lower case, upper case,
 * digits, the rest), judged from all the characters of the secret. What a person would type costs
 * far less than that and counts for less:
 *
 * <ul>
 *   <li>a run of letters that reads as a word (all lower case, or a capital then lower case, at
 *       least three letters, also within CamelCase) counts as one word from a large dictionary,
 *       whatever its length;
 *   <li>a character that repeats the one before, or continues a step of one from it ({@code aaa},
 *       {@code abc}, {@code 321}), counts for almost nothing.
 * </ul>
 */
public final class SecretStrength {
  /** Below this, a secret can be found by brute force with the help of many machines. */
  public static final int MIN_BITS = 128;

  /** A list of the words people use most, with capitalisation. */
  private static final double BITS_PER_WORD = 14;

  /** A repeat or step of one still hides which one it is and how long the run goes on. */
  private static final double BITS_PER_PREDICTABLE_CHARACTER = 1;

  private static final int MIN_WORD_LETTERS = 3;

  private SecretStrength() {}

  public static double estimateBits(String secret) {
    int[] characters = secret.codePoints().toArray();
    double bitsPerCharacter = log2(alphabetSize(characters));
    double bits = 0;
    int i = 0;
    while (i < characters.length) {
      int wordEnd = wordEnd(characters, i);
      if (wordEnd - i >= MIN_WORD_LETTERS) {
        bits += Math.min(BITS_PER_WORD, (wordEnd - i) * bitsPerCharacter);
        i = wordEnd;
        continue;
      }
      boolean predictable =
          i > 0 && Math.abs(characters[i] - characters[i - 1]) <= 1 && isRun(characters, i);
      bits += predictable ? BITS_PER_PREDICTABLE_CHARACTER : bitsPerCharacter;
      i++;
    }
    return bits;
  }

  /** A repeat or a step of one, going on in the same direction as the step before (if any). */
  private static boolean isRun(int[] characters, int i) {
    int step = characters[i] - characters[i - 1];
    if (i < 2) {
      return true;
    }
    int previousStep = characters[i - 1] - characters[i - 2];
    return Math.abs(previousStep) > 1 || previousStep == step;
  }

  /**
   * The end of the word-like run of letters starting at i: lower case letters, optionally after one
   * capital; i itself when none starts there.
   */
  private static int wordEnd(int[] characters, int i) {
    boolean camelCase =
        i > 0 && Character.isUpperCase(characters[i]) && Character.isLowerCase(characters[i - 1]);
    if (i > 0 && Character.isLetter(characters[i - 1]) && !camelCase) {
      return i;
    }
    int end = i;
    if (end < characters.length && Character.isUpperCase(characters[end])) {
      end++;
    }
    while (end < characters.length && Character.isLowerCase(characters[end])) {
      end++;
    }
    boolean endsInsideLetters =
        end < characters.length
            && Character.isLetter(characters[end])
            && !Character.isUpperCase(characters[end]);
    return endsInsideLetters ? i : end;
  }

  private static int alphabetSize(int[] characters) {
    boolean lower = false;
    boolean upper = false;
    boolean digit = false;
    boolean other = false;
    boolean beyondAscii = false;
    for (int c : characters) {
      if (c >= 'a' && c <= 'z') {
        lower = true;
      } else if (c >= 'A' && c <= 'Z') {
        upper = true;
      } else if (c >= '0' && c <= '9') {
        digit = true;
      } else if (c < 128) {
        other = true;
      } else {
        beyondAscii = true;
      }
    }
    int size =
        (lower ? 26 : 0)
            + (upper ? 26 : 0)
            + (digit ? 10 : 0)
            + (other ? 33 : 0)
            + (beyondAscii ? 100 : 0);
    return Math.max(size, 2);
  }

  private static double log2(double value) {
    return Math.log(value) / Math.log(2);
  }

  /** Whole bits, for messages. */
  public static int roundedBits(String secret) {
    return (int) Math.floor(estimateBits(secret));
  }
}
