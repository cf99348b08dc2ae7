// `npm run board`: the class board on the instructor's laptop. Attendees
// report to it with `npm run check -- NN --report URL --code CODE --as NAME`.
// See docs/instructor-guide.md#the-class-board.
import { networkInterfaces } from 'node:os';
import { parseOrExit, readCommandLine } from '../lib/cli.ts';
import { repoRoot } from '../lib/root.ts';
import { createBoardApp } from './app.ts';
import { loadCatalogue } from './catalogue.ts';
import { ConfigError, readConfig } from './config.ts';
import { BoardStore } from './store.ts';

const USAGE = `Usage: npm run board

The class board on this laptop: attendees report to it with
  npm run check -- NN --report URL --code CODE --as NAME
Settings come from the environment (PORT, HOST, BOARD_DB...): see
docs/instructor-guide.md#the-class-board.`;
parseOrExit(() => ({ help: Boolean(readCommandLine(process.argv.slice(2), {}).values.help) }), USAGE);
let config: ReturnType<typeof readConfig>;
try {
  config = readConfig(process.env, repoRoot);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(2);
}

const store = BoardStore.open(config.dbFile);
let roomUrls: string[] = [];
const board = createBoardApp(store, await loadCatalogue(), { roomUrls: () => roomUrls });
const server = board.app.listen(config.port, config.host, () => {
  const { port } = server.address() as { port: number };
  const open = config.host === '0.0.0.0' || config.host === '::';
  const hosts = open ? roomAddresses() : [config.host];
  console.log(`Class board on http://${config.host}:${port}, class code ${store.classCode}`);
  console.log(
    `  the board: http://127.0.0.1:${port}/   how to join (project it): http://127.0.0.1:${port}/join`,
  );
  if (!open) console.log('  only this laptop can reach it: HOST=0.0.0.0 npm run board opens it to the room');
  roomUrls = hosts.map((host) => `http://${host}:${port}`);
  for (const host of hosts) {
    console.log(
      `  attendees: npm run check -- NN --report http://${host}:${port} --code ${store.classCode} --as NAME`,
    );
  }
  console.log(`  data: ${config.dbFile} (delete it for a new class)`);
});
server.on('error', (err) => {
  console.error(`The board cannot listen on ${config.host}:${config.port}: ${err.message}`);
  process.exit(1);
});

/** This laptop's addresses on the room's network (what attendees type). */
function roomAddresses(): string[] {
  // Docker's own bridges (docker0, br-…, veth…) are not the room's network.
  const all = Object.entries(networkInterfaces()).flatMap(([name, list]) =>
    /^(docker|br-|veth|virbr)/.test(name) ? [] : (list ?? []),
  );
  const found = all.filter((a) => a.family === 'IPv4' && !a.internal).map((a) => a.address);
  return found.length > 0 ? found : ['THIS-LAPTOPS-ADDRESS'];
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    board.close();
    server.close(() => {
      store.close();
      process.exit(0);
    });
    server.closeAllConnections();
  });
}
