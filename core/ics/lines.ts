/**
 * ICS text → logical content lines with their 1-based line numbers in the original file.
 * Handles what real feeds do wrong before ical.js ever sees a line: byte-order marks, non-UTF-8
 * bytes, CRLF / LF / lone CR line ends, folding with a space or a TAB, and blank lines (which
 * some producers put even between a line and its continuation).
 */

export type TextEncodingName = 'utf-8' | 'windows-1252';

export interface DecodedText {
  text: string;
  /** How bytes were read: UTF-8 when the whole file is valid UTF-8, else windows-1252 (a latin1 superset). */
  encoding: TextEncodingName;
  hadBom: boolean;
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Lossy = new TextDecoder('utf-8', { ignoreBOM: true });
// WHATWG "latin1" is windows-1252: every byte maps to a character, and 0x80–0x9F become the
// typographic quotes and dashes that old Outlook/Notes exports actually meant.
const latin1 = new TextDecoder('windows-1252');

/** Decodes a file's bytes: UTF-8 when valid (decided per file, never per line), else latin1. */
// RFC 5545 forbids control characters other than TAB in content lines (CR/LF end lines). They
// only turn up in damaged or fuzzed files, and dropping them up front keeps every value clean.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;
// The same test as "no match of CONTROL_CHARS", but V8 runs a greedy negated class over the whole
// text about 2.5 times faster than it searches for a class (this runs over every byte of a feed).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const NO_CONTROL_CHARS = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/;

function withoutControlChars(d: DecodedText): DecodedText {
  if (NO_CONTROL_CHARS.test(d.text)) return d;
  return { ...d, text: d.text.replace(CONTROL_CHARS, '') };
}

export function decodeIcsText(input: string | Uint8Array): DecodedText {
  return withoutControlChars(decodeRaw(input));
}

function decodeRaw(input: string | Uint8Array): DecodedText {
  if (typeof input === 'string') {
    const hadBom = input.charCodeAt(0) === 0xfeff;
    return { text: hadBom ? input.slice(1) : input, encoding: 'utf-8', hadBom };
  }
  let bytes = input;
  const hadBom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  if (hadBom) bytes = bytes.subarray(3);
  try {
    return { text: utf8Strict.decode(bytes), encoding: 'utf-8', hadBom };
  } catch {
    // Mostly-UTF-8 text with a few corrupted bytes (a truncated sequence) stays UTF-8, with
    // U+FFFD for the bad bytes; text whose high bytes are mostly not UTF-8 is latin1.
    const { valid, invalid } = countUtf8Sequences(bytes);
    if (valid > invalid) return { text: utf8Lossy.decode(bytes), encoding: 'utf-8', hadBom };
    return { text: latin1.decode(bytes), encoding: 'windows-1252', hadBom };
  }
}

/** Counts well-formed multi-byte UTF-8 sequences and bytes ≥ 0x80 that are not part of one. */
function countUtf8Sequences(bytes: Uint8Array): { valid: number; invalid: number } {
  let valid = 0;
  let invalid = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b < 0x80) continue;
    const need = b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    let ok = need > 0;
    for (let k = 1; ok && k <= need; k++) ok = i + k < bytes.length && (bytes[i + k] & 0xc0) === 0x80;
    if (ok) {
      valid++;
      i += need;
    } else invalid++;
  }
  return { valid, invalid };
}

/**
 * The logical (unfolded) content lines of a text, kept as offsets: no line is copied until it is
 * read, and only folded lines are ever joined. A 20,000-event feed has ~300,000 lines; keeping
 * them all as strings for the whole parse cost more in garbage collection than reading them.
 *
 * Rules (RFC 5545 §3.1 plus what real feeds do): CRLF, LF and lone CR all end a physical line; a
 * physical line starting with a space or TAB continues the logical line before it (one leading
 * character dropped); blank physical lines never end a logical line, so
 * `DTSTART\n\n ;VALUE=DATE\n :20031225` is still one line. A continuation with nothing to continue
 * (the file's first lines) becomes a line of its own, trimmed, if anything is left.
 */
export class ContentLines {
  /** Number of logical lines. */
  count = 0;
  private starts: Int32Array;
  /** End (exclusive) of the last physical line of the logical line. */
  private ends: Int32Array;
  private nos: Int32Array;
  /** Bit 1: spans several physical lines (must be unfolded); bit 2: trimmed orphan continuation. */
  private kinds: Uint8Array;
  /** Folded lines: index in `segments` of their first physical line's [start, end) pair. */
  private segFrom: Int32Array;
  /** [start, end) of each physical line of the folded lines, in file order. */
  private segments: Int32Array;
  private segCount = 0;

  constructor(readonly text: string) {
    const capacity = Math.max(16, text.length >> 5);
    this.starts = new Int32Array(capacity);
    this.ends = new Int32Array(capacity);
    this.nos = new Int32Array(capacity);
    this.kinds = new Uint8Array(capacity);
    this.segFrom = new Int32Array(capacity);
    this.segments = new Int32Array(256);
    this.index();
  }

  /** The unfolded text of logical line `i`. */
  get(i: number): string {
    return this.kinds[i] === 0 ? this.text.slice(this.starts[i], this.ends[i]) : this.unfold(i);
  }

  /** 1-based physical line number where logical line `i` starts. */
  lineNo(i: number): number {
    return this.nos[i];
  }

  /** Char code of the first character of line `i`, without making the line's string. */
  firstChar(i: number): number {
    return this.kinds[i] & ORPHAN ? this.get(i).charCodeAt(0) : this.text.charCodeAt(this.starts[i]);
  }

  /** Char code at offset `k` of line `i`, when the line is not folded (else -1: read the line). */
  plainCharAt(i: number, k: number): number {
    return this.kinds[i] === 0 && this.starts[i] + k < this.ends[i] ? this.text.charCodeAt(this.starts[i] + k) : -1;
  }

  private push(start: number, end: number, no: number, kind: number): void {
    if (this.count === this.starts.length) {
      this.starts = grow(this.starts);
      this.ends = grow(this.ends);
      this.nos = grow(this.nos);
      this.kinds = grow(this.kinds);
      this.segFrom = grow(this.segFrom);
    }
    this.starts[this.count] = start;
    this.ends[this.count] = end;
    this.nos[this.count] = no;
    this.kinds[this.count] = kind;
    this.count++;
  }

  private index(): void {
    const text = this.text;
    const n = text.length;
    // Next CR / LF at or after `pos` (-1: none left); each is searched again only once passed.
    let cr = text.indexOf('\r');
    let lf = text.indexOf('\n');
    let pos = 0;
    let no = 0;
    let current = -1;
    while (pos <= n) {
      if (cr !== -1 && cr < pos) cr = text.indexOf('\r', pos);
      if (lf !== -1 && lf < pos) lf = text.indexOf('\n', pos);
      let eol: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        eol = cr;
        next = lf === cr + 1 ? cr + 2 : cr + 1;
      } else if (lf !== -1) {
        eol = lf;
        next = lf + 1;
      } else {
        eol = n;
        next = n + 1;
      }
      no++;
      if (eol > pos) {
        const c = text.charCodeAt(pos);
        if (c === 32 || c === 9) {
          if (current !== -1) {
            if (!(this.kinds[current] & FOLDED)) {
              this.kinds[current] |= FOLDED;
              this.segFrom[current] = this.segCount;
              this.pushSegment(this.starts[current], this.ends[current]);
            }
            this.pushSegment(pos, eol);
            this.ends[current] = eol;
          } else if (text.slice(pos, eol).trim().length > 0) {
            this.push(pos, eol, no, ORPHAN);
            current = this.count - 1;
          }
        } else {
          this.push(pos, eol, no, 0);
          current = this.count - 1;
        }
      }
      pos = next;
    }
    // A whitespace-only last line is no line.
    if (this.count > 0 && this.get(this.count - 1).trim().length === 0) this.count--;
  }

  private pushSegment(start: number, end: number): void {
    if (this.segCount * 2 === this.segments.length) this.segments = grow(this.segments);
    this.segments[this.segCount * 2] = start;
    this.segments[this.segCount * 2 + 1] = end;
    this.segCount++;
  }

  private unfold(i: number): string {
    const { text, segments } = this;
    const orphan = this.kinds[i] & ORPHAN;
    if (!(this.kinds[i] & FOLDED)) return orphan ? text.slice(this.starts[i], this.ends[i]).trim() : text.slice(this.starts[i], this.ends[i]);
    let k = this.segFrom[i] * 2;
    // The common fold (line breaks, then one space or TAB) is cut out in one pass; the result is
    // one flat string, which is what every later search and slice of the line wants.
    if (!orphan) return text.slice(segments[k], this.ends[i]).replace(FOLD, '');
    let out = text.slice(segments[k], segments[k + 1]).trim();
    // Continuations: their first character (the fold's space or TAB) dropped.
    for (k += 2; k < this.segCount * 2 && segments[k] < this.ends[i]; k += 2) out += text.slice(segments[k] + 1, segments[k + 1]);
    return out;
  }
}

function grow<T extends Int32Array | Uint8Array>(a: T): T {
  const b = new (a.constructor as new (n: number) => T)(a.length * 2);
  b.set(a);
  return b;
}

const FOLDED = 1;
const ORPHAN = 2;
/** Inside a folded line: the line breaks (blank lines included) before a continuation, and its first character. */
const FOLD = /(?:\r\n|\r|\n)+[ \t]/g;

/**
 * Where the property name ends: the first ';' or ':' (RFC 5545 names contain neither), or -1
 * when the line has neither and so is no content line at all.
 */
export function nameEnd(line: string): number {
  // A loop up to the first delimiter: names are short, values (where indexOf would run) long.
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 58 /* : */ || c === 59 /* ; */) return i;
  }
  return -1;
}

/** The upper-cased property name of a content line (whitespace around it ignored). */
export function propertyName(line: string, end: number): string {
  return line.slice(0, end).trim().toUpperCase();
}

/**
 * Index of the ':' that starts the value: the first one not inside a double-quoted parameter
 * value (`DTSTART;TZID="(UTC+01:00) Berlin":2024…`). -1 when there is none.
 */
export function valueStart(line: string, from: number): number {
  let quoted = false;
  for (let i = from; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 34) quoted = !quoted;
    else if (c === 58 && !quoted) return i;
  }
  // Every ':' is inside quotes (an unbalanced or misplaced quote): the first ':' it is.
  return line.indexOf(':', from);
}

/** A BEGIN/END marker: whether it opens a component, and the component's upper-cased name. */
export interface ComponentMarker {
  begin: boolean;
  name: string;
}

// The markers nearly every line of a feed is: shared, so reading them allocates nothing.
const COMMON_MARKERS = new Map<string, ComponentMarker>();
for (const name of ['VEVENT', 'VALARM', 'VTIMEZONE', 'STANDARD', 'DAYLIGHT', 'VCALENDAR', 'VTODO']) {
  COMMON_MARKERS.set(`BEGIN:${name}`, Object.freeze({ begin: true, name }));
  COMMON_MARKERS.set(`END:${name}`, Object.freeze({ begin: false, name }));
}

/** `BEGIN`/`END` marker of a line, with the component name upper-cased; undefined otherwise. */
export function componentMarker(line: string): ComponentMarker | undefined {
  const c = line.charCodeAt(0) | 0x20; // lower-case ASCII letter
  if (c !== 98 /* b */ && c !== 101 /* e */) return undefined;
  const c1 = line.charCodeAt(1) | 0x20;
  if (c1 !== (c === 98 ? 101 /* e */ : 110 /* n */)) return undefined;
  const common = COMMON_MARKERS.get(line);
  if (common) return common;
  const colon = line.indexOf(':');
  if (colon < 3) return undefined;
  const head = line.slice(0, colon).trim().toUpperCase();
  if (head !== 'BEGIN' && head !== 'END') return undefined;
  // Control characters (seen in fuzzed files) are not part of any component name.
  const name = stripControlChars(line.slice(colon + 1)).trim().toUpperCase();
  return { begin: head === 'BEGIN', name };
}

function stripControlChars(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 32 && c !== 127) out += s[i];
  }
  return out;
}
