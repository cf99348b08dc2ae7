// Who may write. On one laptop, "only my machine reaches it" was the lock on
// the door (the dashboard on 127.0.0.1). A cluster has many machines and a
// network between them, so the write API and the dashboard ask for a token:
// a JWT signed with an Ed25519 private key that stays on the operator's
// machine (scripts/token.ts). The services hold only the public key, from a
// Docker secret: they can check a token, never make one.
import type { RequestHandler } from 'express';
import { errors, importSPKI, type JWTVerifyGetKey, jwtVerify, type KeyObject } from 'jose';
import { HttpError } from './errors.ts';

/** What a token must say to be accepted (JWT_ISSUER, JWT_AUDIENCE). */
export interface TokenRules {
  issuer: string;
  audience: string;
}

/** The scopes of this system: what a token allows, in its `scope` claim ("records:write dashboard"). */
export type Scope = 'records:write' | 'dashboard';

/** A key to check signatures with (tests bring their own). */
export type VerifyKey = KeyObject | CryptoKey | JWTVerifyGetKey;

/** The public key (PEM, from the secret that JWT_PUBLIC_KEY_FILE names), for EdDSA (Ed25519). */
export function publicKey(pem: string): Promise<CryptoKey> {
  return importSPKI(pem, 'EdDSA');
}

// #region require-scope
/**
 * Express middleware: the request must carry `Authorization: Bearer <JWT>`,
 * signed by our key, for our issuer and audience, not expired, with `scope`
 * in its scopes. 401 when the token is missing or not good (the message says
 * which: missing, malformed, forged, expired, wrong issuer...); 403 when it is
 * good but does not allow this.
 */
export function requireScope(key: VerifyKey, rules: TokenRules, scope: Scope): RequestHandler {
  return async (req, _res, next) => {
    next(await checkToken(key, rules, scope, req.get('authorization'), req.get('cookie')));
  };
}

/** The same check for a plain Node server (the proxy's GET /__lb): the refusal, or undefined. */
export async function checkToken(
  key: VerifyKey,
  rules: TokenRules,
  scope: Scope,
  authorization?: string,
  cookie?: string,
): Promise<AuthError | undefined> {
  const token = bearerToken(authorization, cookie);
  if (!token) {
    return new AuthError(
      401,
      'missing',
      `Send a token: Authorization: Bearer <JWT> (npm run token -- ${scope})`,
    );
  }
  let scopes: string[];
  try {
    const { payload } = await jwtVerify(token, key as KeyObject, {
      issuer: rules.issuer,
      audience: rules.audience,
      algorithms: ['EdDSA'],
      // The clocks of different machines differ a little.
      clockTolerance: 30,
    });
    scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
  } catch (err) {
    return rejected(err);
  }
  if (!scopes.includes(scope)) {
    const has = scopes.length > 0 ? scopes.join(' ') : 'none';
    return new AuthError(403, 'scope', `This token does not allow ${scope} (its scope: ${has})`);
  }
  return undefined;
}
// #endregion require-scope

/** An HttpError that also says, in one word, what was wrong with the token. */
export class AuthError extends HttpError {
  readonly reason: string;

  constructor(status: 401 | 403, reason: string, message: string) {
    super(status, message);
    this.reason = reason;
  }
}

/** From the Authorization header; a browser on the dashboard sends it as the cookie `token` instead. */
function bearerToken(authorization?: string, cookie?: string): string | undefined {
  const header = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (header) return header[1];
  return /(?:^|;\s*)token=([^;\s]+)/.exec(cookie ?? '')?.[1];
}

/** jose's errors, in words for the client. None repeats the token. */
function rejected(err: unknown): AuthError {
  if (err instanceof errors.JWTExpired) return new AuthError(401, 'expired', 'The token has expired');
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return new AuthError(401, 'forged', 'The token is not signed by our key');
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    return new AuthError(401, 'claims', `The token's "${err.claim}" is not accepted: ${err.reason}`);
  }
  if (err instanceof errors.JOSEAlgNotAllowed) {
    return new AuthError(401, 'algorithm', 'The token must be signed with EdDSA (Ed25519)');
  }
  if (err instanceof errors.JOSEError) return new AuthError(401, 'malformed', 'The token is not a valid JWT');
  throw err;
}
