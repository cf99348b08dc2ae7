import { stagesWithChecks } from '../lib/checks/stage-checks.ts';
import { UsageError } from '../lib/cli.ts';
import { parseCheckArgs } from './args.ts';

const stages = stagesWithChecks();
const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const parsed = parseCheckArgs(argv, stages, env);
  if (parsed.help) throw new Error('unexpected --help');
  return parsed;
};

describe('npm run check: the command line', () => {
  test.each(['02', '2', '02-compose', 'compose', 'stages/02-compose/'])(
    '"%s" names stage 02-compose',
    (name) => {
      expect(parse([name]).stage.name).toBe('02-compose');
    },
  );

  test("defaults: localhost:8080, the folder's compose project, text, Docker checks on", () => {
    expect(parse(['01'])).toMatchObject({
      url: 'http://localhost:8080',
      project: '01-app',
      json: false,
      docker: true,
    });
  });

  test('WEB_PORT and COMPOSE_PROJECT_NAME are read as compose reads them', () => {
    const args = parse(['01'], { WEB_PORT: '28090', COMPOSE_PROJECT_NAME: 'mine' });
    expect(args.url).toBe('http://localhost:28090');
    expect(args.project).toBe('mine');
  });

  test('options, in both --name value and --name=value form', () => {
    const args = parse(['--json', '--url=http://127.0.0.1:9000/', '03', '--project', 'p', '--no-docker']);
    expect(args).toMatchObject({ url: 'http://127.0.0.1:9000', project: 'p', json: true, docker: false });
    expect(args.stage.name).toBe('03-db');
  });

  test('--help', () => {
    expect(parseCheckArgs(['02', '--help'], stages)).toEqual({ help: true });
  });

  test.each([
    [[], /Which stage\? One of: 01-app, 02-compose/],
    [['9'], /There is no stage "9". The stages are: 01-app, 02-compose/],
    [['01', '02'], /One stage at a time/],
    [['01', '--verbose'], /Unknown option --verbose/],
    [['01', '--url'], /--url needs a value/],
    [['01', '--url='], /--url needs a value/],
    [['03', '--project', '--json'], /--project needs a value/],
    [['01', '--json=yes'], /--json takes no value/],
    [['01', '--url', 'localhost:8080'], /--url must start with http/],
    [['01', '--url', 'not a url'], /--url must be a URL/],
    [['01', '--report', 'http://10.0.0.5:4000'], /--report needs --as NAME/],
    [['01', '--report', 'http://10.0.0.5:4000', '--code', '--as', 'ada'], /--code needs a value/],
    [['01', '--as', 'ada'], /--as names you on the class board: add --report URL/],
    [['01', '--report', 'localhost:4000', '--as', 'ada'], /--report must start with http/],
    [['01', '--watch', '2'], /--watch takes seconds, from 5 to 3600, got "2"/],
    [['01', '--watch', 'often'], /--watch takes seconds/],
  ])('%j is refused: %s', (argv, message) => {
    expect(() => parse(argv)).toThrow(UsageError);
    expect(() => parse(argv)).toThrow(message);
  });

  test('a WEB_PORT that is no port is refused, naming the variable', () => {
    expect(() => parse(['01'], { WEB_PORT: 'eighty' })).toThrow('WEB_PORT must be a port number');
  });

  test('--report URL --as NAME --code CODE --watch N, for the class board', () => {
    const args = parse([
      '02',
      '--report',
      'http://10.0.0.5:4000/',
      '--as',
      'ada',
      '--code',
      'K7P2QX',
      '--watch=30',
    ]);
    expect(args.report).toEqual({ url: 'http://10.0.0.5:4000', as: 'ada', code: 'K7P2QX' });
    expect(args.watch).toBe(30);
    expect(parse(['02'])).toMatchObject({ report: undefined, watch: undefined });
  });

  test('the same from the environment (the check container gets them so); the command line wins', () => {
    const env = {
      CHECK_REPORT: 'http://10.0.0.5:4000',
      CHECK_AS: 'grace',
      CHECK_CODE: 'K7P2QX',
      CHECK_WATCH: '10',
    };
    expect(parse(['02'], env)).toMatchObject({
      report: { url: 'http://10.0.0.5:4000', as: 'grace', code: 'K7P2QX' },
      watch: 10,
    });
    expect(parse(['02', '--as', 'ada'], env).report?.as).toBe('ada');
    // compose passes a variable that is not set as an empty string: no report, no watch.
    expect(parse(['02'], { CHECK_REPORT: '', CHECK_AS: '', CHECK_CODE: '', CHECK_WATCH: '' })).toMatchObject({
      report: undefined,
      watch: undefined,
    });
  });
});
