// The board's HTTP side: the page, the join and report API, the live events,
// the JSON and CSV of the board. Every error is JSON, from one handler.
import { join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Catalogue } from './catalogue.ts';
import { createEvents } from './events.ts';
import { createRateLimit } from './rate-limit.ts';
import type { BoardStore } from './store.ts';
import { createTokens, type TokenHolder } from './tokens.ts';
import { HttpError, parseJoin, parseReport } from './validate.ts';
import { boardCsv, boardView } from './view.ts';

/** A report is a few hundred bytes; anything much bigger is not one. */
export const BODY_LIMIT = '16kb';
/** Per client address: a burst of 30 requests, then 2 a second (a --watch of 1 s is one). */
export const RATE = { burst: 30, perSecond: 2 };

// The instructor's own browser, on this laptop (localhost is 127.0.0.1 or ::1).
const isInstructor = (address = '') => ['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(address);

export interface BoardOptions {
  /** The board's addresses as attendees type them (http://192.168.1.20:4000), for the join page. */
  readonly roomUrls: () => string[];
}

export function createBoardApp(store: BoardStore, catalogue: Catalogue, options: BoardOptions) {
  const tokens = createTokens(store.tokenSecret, store.classCode);
  const limit = createRateLimit(RATE.burst, RATE.perSecond);
  const stages = new Set(catalogue.stages);
  const view = () => boardView(store.cells(), catalogue.stages, catalogue.checkNames, store.attendees());
  const events = createEvents(view);
  const app = express();
  app.disable('x-powered-by');

  app.use((req, res, next) => {
    const wait = limit.take(req.socket.remoteAddress ?? '');
    if (wait === 0) return next();
    res.set('Retry-After', String(wait));
    next(new HttpError(429, `too many requests from ${req.socket.remoteAddress}: wait ${wait} s`));
  });
  app.use((_req, res, next) => {
    // The page runs only its own script: even a name that got in as HTML could not run.
    res.set('Content-Security-Policy', "default-src 'self'; object-src 'none'; base-uri 'none'");
    res.set('X-Content-Type-Options', 'nosniff');
    next();
  });
  app.use(express.static(join(import.meta.dirname, 'public'), { extensions: ['html'] }));

  const json = express.json({ limit: BODY_LIMIT, type: () => true });
  const bearer = (req: Request) => /^Bearer (\S+)$/.exec(req.get('authorization') ?? '')?.[1];

  app.post('/api/join', json, async (req, res) => {
    const { code, name } = parseJoin(req.body);
    if (normalCode(code) !== store.classCode) throw new HttpError(403, 'that is not the class code');
    let attendee = store.addAttendee(name);
    if (!attendee) {
      // The name is taken: only the token it was given to may have it again.
      const proof = bearer(req);
      const owner = proof ? await tokens.owner(proof).catch(() => undefined) : undefined;
      const mine = owner && store.attendee(owner.attendeeId);
      if (!mine || mine.name.toLowerCase() !== name.toLowerCase()) {
        throw new HttpError(409, `the name "${name}" is taken on this board: choose another (--as)`);
      }
      attendee = mine;
    }
    events.changed();
    const token = await tokens.sign({ attendeeId: attendee.id, name: attendee.name });
    res.status(201).json({ name: attendee.name, token });
  });

  app.post('/api/reports', authenticate, json, (req, res) => {
    const report = parseReport(req.body, stages);
    store.saveReport(res.locals.holder.attendeeId, report);
    events.changed();
    res.status(201).json({ name: res.locals.holder.name, stage: report.stage });
  });

  app.get('/api/board', (_req, res) => {
    res.json(view());
  });
  app.get('/api/board.csv', (_req, res) => {
    res.attachment('board.csv').type('text/csv; charset=utf-8').send(boardCsv(view()));
  });
  app.get('/api/events', (_req, res) => {
    if (!events.add(res)) throw new HttpError(503, 'too many viewers of the board');
  });
  // The class code only for the instructor's own screen, which projects it.
  app.get('/api/class', (req, res) => {
    if (!isInstructor(req.socket.remoteAddress)) {
      throw new HttpError(403, 'the class code is shown on the instructor’s screen');
    }
    res.json({ code: store.classCode, urls: options.roomUrls() });
  });

  app.use((req, _res, next) => next(new HttpError(404, `no ${req.method} ${req.path} here`)));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const { status, message } = asHttpError(err);
    if (status >= 500 && status !== 503) console.error(err);
    res.status(status).json({ error: message });
  });

  async function authenticate(req: Request, res: Response, next: NextFunction) {
    const token = bearer(req);
    if (!token) throw new HttpError(401, 'a report needs the token from joining (Authorization: Bearer …)');
    let holder: TokenHolder;
    try {
      holder = await tokens.verify(token);
    } catch (err) {
      throw new HttpError(401, (err as Error).message);
    }
    if (store.attendee(holder.attendeeId)?.name !== holder.name) {
      throw new HttpError(401, 'the token names no attendee of this board: join again');
    }
    res.locals.holder = holder;
    next();
  }

  return { app, close: () => events.close() };
}

/** The code as typed: "k7p2 qx" is K7P2QX. */
function normalCode(code: string): string {
  return code.replace(/[\s-]/g, '').toUpperCase();
}

/** What express's body parser throws (too large, not JSON) as the statuses a client expects. */
function asHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const type = (err as { type?: string }).type;
  if (type === 'entity.too.large') return new HttpError(413, `a body must be at most ${BODY_LIMIT}`);
  if (type === 'entity.parse.failed') return new HttpError(400, 'the body is not valid JSON');
  const status = (err as { status?: number }).status;
  if (status && status >= 400 && status < 500) return new HttpError(status, (err as Error).message);
  return new HttpError(500, 'the board failed; see its terminal');
}
