// The attendee's token: a JWT signed with the board's own secret (HS256),
// holding the attendee's id and name and the class, valid for a class day.
// A report carries it; the row it writes is the one the token names.
import { compactVerify, errors, jwtVerify, SignJWT } from 'jose';

export const TOKEN_HOURS = 12;

export interface TokenHolder {
  readonly attendeeId: number;
  readonly name: string;
}

/** A token that is missing, forged, for another class or expired: 401. */
export class TokenError extends Error {}

export interface Tokens {
  sign(holder: TokenHolder): Promise<string>;
  /** The holder of a valid, unexpired token of this class. */
  verify(token: string): Promise<TokenHolder>;
  /**
   * The holder of a token this board signed for this class, expired or not:
   * proof, when joining again, that a name is yours.
   */
  owner(token: string): Promise<TokenHolder>;
}

export function createTokens(secret: Uint8Array, classCode: string): Tokens {
  const holderOf = (payload: Record<string, unknown>): TokenHolder => {
    if (payload.class !== classCode) throw new TokenError('the token is for another class');
    const attendeeId = Number(payload.sub);
    if (!Number.isInteger(attendeeId) || typeof payload.name !== 'string') {
      throw new TokenError('the token does not name an attendee');
    }
    return { attendeeId, name: payload.name };
  };
  return {
    sign: (holder) =>
      new SignJWT({ name: holder.name, class: classCode })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(String(holder.attendeeId))
        .setIssuedAt()
        .setExpirationTime(`${TOKEN_HOURS}h`)
        .sign(secret),
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'] });
        return holderOf(payload);
      } catch (err) {
        if (err instanceof errors.JWTExpired) throw new TokenError('the token has expired: join again');
        if (err instanceof TokenError) throw err;
        throw new TokenError('the token is not one this board signed');
      }
    },
    async owner(token) {
      let payload: Record<string, unknown>;
      try {
        const verified = await compactVerify(token, secret, { algorithms: ['HS256'] });
        payload = JSON.parse(new TextDecoder().decode(verified.payload));
      } catch {
        throw new TokenError('the token is not one this board signed');
      }
      return holderOf(payload);
    },
  };
}
