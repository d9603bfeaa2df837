import { generateKeyPairSync, createVerify } from 'node:crypto';
import {
  cachingTokenSource, refreshTokenSource, serviceAccountFromKeyFile, serviceAccountTokenSource, signServiceAccountJwt, withBearerAuth,
} from '../../providers/google/auth';
import type { HttpRequest, HttpResponse } from '../../providers/port';
import { ProviderError } from '../../providers/port';

describe('service account JWT', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const creds = serviceAccountFromKeyFile(
    { client_email: 'relay@proj.iam.gserviceaccount.com', private_key: pem, private_key_id: 'kid1', token_uri: 'http://127.0.0.1:1/token' },
    ['https://www.googleapis.com/auth/calendar'], 'admin@example.org',
  );

  it('is RS256-signed with iss, sub, scope, aud, iat, exp', () => {
    const jwt = signServiceAccountJwt(creds, Date.UTC(2026, 0, 1, 12));
    const [h, c, sig] = jwt.split('.');
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'kid1' });
    const claims = JSON.parse(Buffer.from(c, 'base64url').toString());
    const iat = Date.UTC(2026, 0, 1, 12) / 1000;
    expect(claims).toEqual({
      iss: 'relay@proj.iam.gserviceaccount.com', sub: 'admin@example.org', scope: 'https://www.googleapis.com/auth/calendar',
      aud: 'http://127.0.0.1:1/token', iat, exp: iat + 3600,
    });
    expect(createVerify('RSA-SHA256').update(`${h}.${c}`).verify(publicKey, Buffer.from(sig, 'base64url'))).toBe(true);
    expect(createVerify('RSA-SHA256').update(`${h}.${c}x`).verify(publicKey, Buffer.from(sig, 'base64url'))).toBe(false);
  });

  it('rejects a key file without a private key, naming the field', () => {
    expect(() => serviceAccountFromKeyFile({ client_email: 'x' }, [])).toThrow(/private_key/);
  });

  it('exchanges the assertion, caches the token until shortly before expiry, and refetches after invalidate', async () => {
    let now = 1_000_000;
    const seen: HttpRequest[] = [];
    const http = async (req: HttpRequest): Promise<HttpResponse> => {
      seen.push(req);
      return { status: 200, headers: {}, body: JSON.stringify({ access_token: `tok${seen.length}`, expires_in: 3600, token_type: 'Bearer' }) };
    };
    const source = serviceAccountTokenSource(creds, { http, now: () => now });
    const [a, b] = await Promise.all([source.getToken(), source.getToken()]);
    expect([a, b]).toEqual(['tok1', 'tok1']);
    expect(seen).toHaveLength(1);
    expect(seen[0].url).toBe('http://127.0.0.1:1/token');
    const form = new URLSearchParams(String(seen[0].body));
    expect(form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    expect(form.get('assertion')!.split('.')).toHaveLength(3);
    now += 3500_000; // 100 s before expiry: still cached
    expect(await source.getToken()).toBe('tok1');
    now += 50_000; // 50 s before expiry: inside the safety margin
    expect(await source.getToken()).toBe('tok2');
    source.invalidate();
    expect(await source.getToken()).toBe('tok3');
  });

  it('maps token endpoint errors: invalid_grant → auth scope, 5xx → retryable', async () => {
    const answer = (status: number, body: string) => async (): Promise<HttpResponse> => ({ status, headers: {}, body });
    const bad = refreshTokenSource({ clientId: 'c', clientSecret: 's', refreshToken: 'r' }, { http: answer(400, '{"error":"invalid_grant","error_description":"Token has been expired or revoked."}') });
    await expect(bad.getToken()).rejects.toMatchObject({ scope: 'auth', retryable: false, code: 'invalid_grant', message: expect.stringContaining('expired or revoked') });
    const flaky = refreshTokenSource({ clientId: 'c', clientSecret: 's', refreshToken: 'r' }, { http: answer(503, 'busy') });
    const err = await flaky.getToken().catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.retryable).toBe(true);
  });

  it('a failed fetch is not cached', async () => {
    let calls = 0;
    const source = cachingTokenSource(async (now) => {
      calls++;
      if (calls === 1) throw new Error('boom');
      return { accessToken: 'ok', expiresAtMs: now + 3600_000 };
    });
    await expect(source.getToken()).rejects.toThrow('boom');
    expect(await source.getToken()).toBe('ok');
  });
});

describe('withBearerAuth', () => {
  it('adds the bearer token and retries a 401 once with a fresh token', async () => {
    let n = 0;
    const tokens = cachingTokenSource(async (now) => ({ accessToken: `t${++n}`, expiresAtMs: now + 3600_000 }));
    const auths: string[] = [];
    const port = withBearerAuth(async (req) => {
      auths.push(req.headers!.authorization);
      return { status: req.headers!.authorization === 'Bearer t1' ? 401 : 200, headers: {}, body: '' };
    }, tokens);
    const res = await port({ method: 'GET', url: 'http://x/' });
    expect(res.status).toBe(200);
    expect(auths).toEqual(['Bearer t1', 'Bearer t2']);
  });

  it('returns a second 401 as is', async () => {
    const port = withBearerAuth(async () => ({ status: 401, headers: {}, body: '' }), cachingTokenSource(async (now) => ({ accessToken: 'x', expiresAtMs: now + 1e7 })));
    expect((await port({ method: 'GET', url: 'http://x/' })).status).toBe(401);
  });
});
