import type { ErrorRequestHandler, RequestHandler } from 'express';

/** An error whose status code and message are meant for the client. */
export class HttpError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/**
 * A service we need (named as in compose.yaml) did not answer. The client gets
 * a 503 at once and may try again: the app reconnects by itself.
 */
export class DependencyDownError extends HttpError {
  readonly dependency: string;

  constructor(dependency: string, message: string, cause: unknown) {
    super(503, message);
    this.dependency = dependency;
    this.cause = cause;
  }
}

/** Any route that nothing else answered. */
export const notFound: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, `No route for ${req.method} ${req.path}`));
};

// The one place where errors become responses: always JSON, always
// `{"error": "..."}`, so clients (and the checks) need one code path.
export const errorHandler: ErrorRequestHandler = (err, _req, res, _next) => {
  if (err instanceof DependencyDownError) {
    // No stack trace for every request: the outage was logged once, where the
    // connection is watched (see redis.ts and db.ts).
    res.set('Retry-After', '1');
    res.status(503).json({ error: err.message, dependency: err.dependency });
    return;
  }
  const status = statusOf(err);
  if (status >= 500) console.error(err);
  const message = status >= 500 ? 'Internal server error' : (err as Error).message;
  // A refused token (src/auth.ts) also says in one word why: missing, expired, forged, scope...
  const reason = (err as { reason?: unknown }).reason;
  if (status === 401) res.set('WWW-Authenticate', 'Bearer');
  res.status(status).json(typeof reason === 'string' ? { error: message, reason } : { error: message });
};

function statusOf(err: unknown): number {
  if (err instanceof HttpError) return err.status;
  // Errors raised by Express itself (and its body parser) carry a 4xx status.
  const status = (err as { status?: unknown }).status;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}
