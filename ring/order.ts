/**
 * Compares two strings by the bytes of their UTF-8 encodings (RING-SPEC.md section 2).
 * Code point order equals UTF-8 byte order; UTF-16 code unit order (`<` on strings) does not,
 * for characters above U+FFFF against U+E000..U+FFFF.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0xd800 && y < 0xd800) return x - y;
    return (a.codePointAt(i) ?? 0) - (b.codePointAt(i) ?? 0);
  }
  return a.length - b.length;
}
