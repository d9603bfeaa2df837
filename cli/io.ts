/** Reading the CLI's inputs: a file path, an http(s) URL, or `-` for standard input. */
import { readFile } from 'node:fs/promises';

/** The input could not be read (the CLI's exit code 1). */
export class InputReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputReadError';
  }
}

export async function readInput(source: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<Uint8Array> {
  if (source === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
    return Buffer.concat(chunks);
  }
  if (/^https?:\/\//i.test(source)) {
    let res: Response;
    try {
      res = await fetch(source, { headers: { accept: 'text/calendar, application/json;q=0.9, */*;q=0.5' } });
    } catch (err) {
      throw new InputReadError(`cannot fetch ${source}: ${networkFailure(err)}`);
    }
    if (!res.ok) throw new InputReadError(`cannot fetch ${source}: HTTP ${res.status} ${res.statusText}`);
    return new Uint8Array(await res.arrayBuffer());
  }
  try {
    return await readFile(source);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputReadError(`cannot read ${source}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

/** Plain words for network error codes; the parenthesis is advice, left out where space is short. */
const NETWORK_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused (nothing is listening there: is the server running, and is the port right?)',
  ENOTFOUND: 'host not found (check the name in the URL)',
  EAI_AGAIN: 'host name lookup failed (no DNS answer; offline?)',
  ECONNRESET: 'connection reset by the server',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  CERT_HAS_EXPIRED: 'the server\'s TLS certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server\'s TLS certificate is self-signed, not trusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'the server\'s TLS certificate chain is self-signed, not trusted',
};

/** Plain words for why a fetch failed (Node's fetch says only "fetch failed"; the cause has the code). */
export function networkFailure(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (err as NodeJS.ErrnoException).code;
  if (code && NETWORK_WORDS[code]) return `${NETWORK_WORDS[code]} [${code}]`;
  return cause?.message ?? (err as Error).message;
}

/** A message ending in a bare error code (`cannot reach …: ECONNREFUSED`) says it in words too. */
export function withNetworkWords(message: string): string {
  return message.replace(/\b([A-Z][A-Z0-9_]+)$/, (code) => (NETWORK_WORDS[code] ? `${NETWORK_WORDS[code].replace(/ \(.*\)$/, '')} [${code}]` : code));
}
