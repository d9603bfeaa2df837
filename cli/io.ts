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
      throw new InputReadError(`cannot fetch ${source}: ${(err as Error).message}`);
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
