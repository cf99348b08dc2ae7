// Docker runs this inside a worker container (see `healthcheck` in compose.yaml):
// healthy while the worker's heartbeat file is fresh (see src/heartbeat.ts).
import { loadConfigOrExit, loadWorkerConfig } from './config.ts';
import { isFresh } from './heartbeat.ts';

const config = loadConfigOrExit(loadWorkerConfig);
process.exit((await isFresh(config.heartbeatFile)) ? 0 : 1);
