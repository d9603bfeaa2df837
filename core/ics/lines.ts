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

function withoutControlChars(d: DecodedText): DecodedText {
  CONTROL_CHARS.lastIndex = 0;
  if (!CONTROL_CHARS.test(d.text)) return d;
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

/** Unfolded content lines in file order; `lineNos[i]` is where `lines[i]` starts (1-based). */
export interface LogicalLines {
  lines: string[];
  lineNos: number[];
}

const LINE_BREAK = /\r\n|\n|\r/;

/**
 * Splits on any line end and unfolds continuation lines (leading space or TAB, RFC 5545 §3.1).
 * Blank and whitespace-only physical lines are dropped without ending the logical line, so
 * `DTSTART\n\n ;VALUE=DATE\n :20031225` still unfolds to one line.
 */
export function unfoldLines(text: string): LogicalLines {
  const physical = text.split(LINE_BREAK);
  const lines: string[] = [];
  const lineNos: number[] = [];
  let current: string | undefined;
  let currentNo = 0;
  for (let i = 0; i < physical.length; i++) {
    const p = physical[i];
    if (p.length === 0) continue;
    const c = p.charCodeAt(0);
    if (c === 32 || c === 9) {
      if (current !== undefined) {
        current += p.slice(1);
        continue;
      }
      // A continuation with nothing to continue: keep its text as a line of its own if any.
      const trimmed = p.trim();
      if (trimmed.length === 0) continue;
      current = trimmed;
      currentNo = i + 1;
      continue;
    }
    if (current !== undefined) {
      lines.push(current);
      lineNos.push(currentNo);
    }
    current = p;
    currentNo = i + 1;
  }
  if (current !== undefined && current.trim().length > 0) {
    lines.push(current);
    lineNos.push(currentNo);
  }
  return { lines, lineNos };
}

/**
 * Where the property name ends: the first ';' or ':' (RFC 5545 names contain neither), or -1
 * when the line has neither and so is no content line at all.
 */
export function nameEnd(line: string): number {
  const colon = line.indexOf(':');
  const semi = line.indexOf(';');
  if (semi !== -1 && (colon === -1 || semi < colon)) return semi;
  return colon;
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

/** `BEGIN`/`END` marker of a line, with the component name upper-cased; undefined otherwise. */
export function componentMarker(line: string): { begin: boolean; name: string } | undefined {
  const c = line.charCodeAt(0) | 0x20; // lower-case ASCII letter
  if (c !== 98 /* b */ && c !== 101 /* e */) return undefined;
  const c1 = line.charCodeAt(1) | 0x20;
  if (c1 !== (c === 98 ? 101 /* e */ : 110 /* n */)) return undefined;
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
