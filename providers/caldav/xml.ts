/**
 * A small XML reader for WebDAV/CalDAV responses (multistatus, PROPFIND answers), so the CalDAV
 * provider needs no runtime dependency. It reads what RFC 4918 / 4791 / 6578 servers send:
 * elements, attributes, namespace prefixes (resolved to URIs), character data with the five
 * predefined entities and numeric references, CDATA, comments and processing instructions.
 * It does not read DTDs (a server has no reason to send one; one is refused, which also rules out
 * entity-expansion attacks). Malformed input throws XmlError naming the offset.
 */

export interface XmlElement {
  /** Namespace URI ('' for none). */
  ns: string;
  /** Local name. */
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** The concatenated character data directly inside this element (not its children's). */
  text: string;
}

export class XmlError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`XML: ${message} at offset ${offset}`);
    this.name = 'XmlError';
  }
}

export const DAV = 'DAV:';
export const CALDAV = 'urn:ietf:params:xml:ns:caldav';
export const CALSERVER = 'http://calendarserver.org/ns/';
export const APPLE_ICAL = 'http://apple.com/ns/ical/';

const NAME_RE = /[A-Za-z_:][-A-Za-z0-9_:.\u00b7-\uffff]*/y;

function decodeEntities(s: string, at: number): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);?/g, (m, ref: string) => {
    if (!m.endsWith(';')) throw new XmlError(`unterminated entity reference "${m}"`, at);
    if (ref[0] === '#') {
      const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!Number.isFinite(code) || code > 0x10ffff) throw new XmlError(`bad character reference "${m}"`, at);
      return String.fromCodePoint(code);
    }
    switch (ref) {
      case 'lt': return '<';
      case 'gt': return '>';
      case 'amp': return '&';
      case 'quot': return '"';
      case 'apos': return "'";
      default: throw new XmlError(`unknown entity "&${ref};"`, at);
    }
  });
}

/** Parses a whole document and returns its root element. */
export function parseXml(src: string): XmlElement {
  let i = 0;
  const n = src.length;
  // Each open element with the namespace bindings in scope for it.
  const stack: Array<{ el: XmlElement; qname: string; scope: Map<string, string> }> = [];
  let root: XmlElement | undefined;
  let scope = new Map<string, string>([['xml', 'http://www.w3.org/XML/1998/namespace']]);

  const readName = (): string => {
    NAME_RE.lastIndex = i;
    const m = NAME_RE.exec(src);
    if (!m) throw new XmlError('expected a name', i);
    i += m[0].length;
    return m[0];
  };
  const skipWs = () => {
    while (i < n && (src[i] === ' ' || src[i] === '\t' || src[i] === '\n' || src[i] === '\r')) i++;
  };
  const resolve = (qname: string, map: Map<string, string>, isAttr: boolean): { ns: string; name: string } => {
    const c = qname.indexOf(':');
    if (c < 0) return { ns: isAttr ? '' : map.get('') ?? '', name: qname };
    const prefix = qname.slice(0, c);
    const ns = map.get(prefix);
    if (ns === undefined) throw new XmlError(`undeclared namespace prefix "${prefix}"`, i);
    return { ns, name: qname.slice(c + 1) };
  };

  while (i < n) {
    const lt = src.indexOf('<', i);
    const textEnd = lt < 0 ? n : lt;
    if (textEnd > i) {
      const raw = src.slice(i, textEnd);
      if (stack.length) stack[stack.length - 1].el.text += decodeEntities(raw, i);
      else if (raw.trim() !== '' && !(root === undefined && raw.trim() === '\ufeff')) throw new XmlError('text outside the root element', i);
      i = textEnd;
      continue;
    }
    // src[i] === '<'
    if (src.startsWith('<?', i)) {
      const end = src.indexOf('?>', i + 2);
      if (end < 0) throw new XmlError('unterminated processing instruction', i);
      i = end + 2;
    } else if (src.startsWith('<!--', i)) {
      const end = src.indexOf('-->', i + 4);
      if (end < 0) throw new XmlError('unterminated comment', i);
      i = end + 3;
    } else if (src.startsWith('<![CDATA[', i)) {
      const end = src.indexOf(']]>', i + 9);
      if (end < 0) throw new XmlError('unterminated CDATA section', i);
      if (!stack.length) throw new XmlError('CDATA outside the root element', i);
      stack[stack.length - 1].el.text += src.slice(i + 9, end);
      i = end + 3;
    } else if (src.startsWith('<!', i)) {
      throw new XmlError('DTDs and declarations are not accepted', i);
    } else if (src.startsWith('</', i)) {
      i += 2;
      const qname = readName();
      skipWs();
      if (src[i] !== '>') throw new XmlError(`expected ">" to close </${qname}`, i);
      i++;
      const top = stack.pop();
      if (!top || top.qname !== qname) throw new XmlError(`</${qname}> does not match <${top?.qname ?? '(nothing)'}>`, i);
      scope = stack.length ? stack[stack.length - 1].scope : new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]);
    } else {
      i++;
      const qname = readName();
      const rawAttrs: Array<[string, string]> = [];
      const local = new Map(scope);
      for (;;) {
        skipWs();
        if (src[i] === '>' || src.startsWith('/>', i)) break;
        if (i >= n) throw new XmlError(`unterminated start tag <${qname}`, i);
        const an = readName();
        skipWs();
        if (src[i] !== '=') throw new XmlError(`expected "=" after attribute ${an}`, i);
        i++;
        skipWs();
        const q = src[i];
        if (q !== '"' && q !== "'") throw new XmlError(`attribute ${an} value must be quoted`, i);
        const end = src.indexOf(q, i + 1);
        if (end < 0) throw new XmlError(`unterminated attribute ${an}`, i);
        const value = decodeEntities(src.slice(i + 1, end), i);
        i = end + 1;
        if (an === 'xmlns') local.set('', value);
        else if (an.startsWith('xmlns:')) local.set(an.slice(6), value);
        else rawAttrs.push([an, value]);
      }
      const selfClosing = src[i] === '/';
      i += selfClosing ? 2 : 1;
      const { ns, name } = resolve(qname, local, false);
      const attrs: Record<string, string> = {};
      for (const [an, v] of rawAttrs) {
        const r = resolve(an, local, true);
        attrs[r.ns ? `{${r.ns}}${r.name}` : r.name] = v;
      }
      const el: XmlElement = { ns, name, attrs, children: [], text: '' };
      if (stack.length) stack[stack.length - 1].el.children.push(el);
      else if (root) throw new XmlError('a second root element', i);
      else root = el;
      if (!selfClosing) {
        stack.push({ el, qname, scope: local });
        scope = local;
      }
    }
  }
  if (stack.length) throw new XmlError(`unclosed element <${stack[stack.length - 1].qname}>`, n);
  if (!root) throw new XmlError('no root element', 0);
  return root;
}

/** The first child with that namespace and name. */
export function child(el: XmlElement | undefined, ns: string, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.ns === ns && c.name === name);
}

export function children(el: XmlElement | undefined, ns: string, name: string): XmlElement[] {
  return el ? el.children.filter((c) => c.ns === ns && c.name === name) : [];
}

/** Escapes text for element content or a double-quoted attribute. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** One `<response>` of a multistatus: its href, the status of the whole response, and each propstat's props. */
export interface DavResponse {
  href: string;
  /** HTTP status code of a response-level <status> (e.g. 404 in a sync-collection answer). */
  status?: number;
  /** Props found with a 2xx propstat, keyed `{ns}name`. */
  props: Map<string, XmlElement>;
  /** Props reported with a non-2xx propstat (missing or forbidden). */
  missing: Set<string>;
}

export function statusCode(line: string | undefined): number | undefined {
  const m = /^\s*HTTP\/\d(?:\.\d)?\s+(\d{3})/.exec(line ?? '');
  return m ? Number(m[1]) : undefined;
}

export function propKey(ns: string, name: string): string {
  return `{${ns}}${name}`;
}

/** Reads a multistatus document (RFC 4918 §14.16) into responses; also returns the sync-token (RFC 6578). */
export function parseMultistatus(body: string): { responses: DavResponse[]; syncToken?: string } {
  const root = parseXml(body);
  if (root.ns !== DAV || root.name !== 'multistatus') throw new XmlError(`expected DAV:multistatus, got {${root.ns}}${root.name}`, 0);
  const responses: DavResponse[] = [];
  for (const r of children(root, DAV, 'response')) {
    const href = child(r, DAV, 'href')?.text.trim();
    if (!href) continue;
    const props = new Map<string, XmlElement>();
    const missing = new Set<string>();
    for (const ps of children(r, DAV, 'propstat')) {
      const st = statusCode(child(ps, DAV, 'status')?.text) ?? 200;
      for (const p of child(ps, DAV, 'prop')?.children ?? []) {
        if (st >= 200 && st < 300) props.set(propKey(p.ns, p.name), p);
        else missing.add(propKey(p.ns, p.name));
      }
    }
    const st = statusCode(child(r, DAV, 'status')?.text);
    responses.push({ href, props, missing, ...(st !== undefined ? { status: st } : {}) });
  }
  const token = child(root, DAV, 'sync-token')?.text.trim();
  return { responses, ...(token ? { syncToken: token } : {}) };
}
