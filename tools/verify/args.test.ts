import { stagesWithChecks } from '../lib/checks/stage-checks.ts';
import { UsageError } from '../lib/cli.ts';
import { parseVerifyArgs } from './args.ts';

const stages = stagesWithChecks();

describe('npm run verify: the command line', () => {
  test('no stage means every stage; stages come in order, once', () => {
    expect(parseVerifyArgs([], stages)).toMatchObject({ help: false, stages: [], prefix: 'verify' });
    const parsed = parseVerifyArgs(
      ['03', 'compose', '3', '--ports', '28080-28099', '--prefix', 'mine'],
      stages,
    );
    if (parsed.help) throw new Error('unexpected --help');
    expect(parsed.stages.map((s) => s.name)).toEqual(['02-compose', '03-db']);
    expect(parsed.ports).toEqual({ from: 28080, to: 28099 });
    expect(parsed.prefix).toBe('mine');
    expect(parsed.stagesDir).toBeUndefined();
    expect(parseVerifyArgs(['01', '--ports=28080-28099', '--prefix=tl'], stages)).toMatchObject({
      ports: { from: 28080, to: 28099 },
      prefix: 'tl',
    });
  });

  test('--stages points at a copy of the stage folders', () => {
    expect(parseVerifyArgs(['04', '--stages', '/tmp/broken'], stages)).toMatchObject({
      stagesDir: '/tmp/broken',
    });
  });

  test.each([
    [['9'], /There is no stage "9"/],
    [['--ports=9000'], /--ports must be a range/],
    [['01', '--prefix', '--verbose'], /--prefix needs a value/],
    [['--ports', '9000'], /--ports must be a range/],
    [['--ports'], /--ports needs a value/],
    [['--prefix', 'Bad Name'], /--prefix must be lower-case/],
    [['--stages'], /--stages needs a value/],
    [['--fast'], /Unknown option --fast/],
  ])('%j is refused', (argv, message) => {
    expect(() => parseVerifyArgs(argv, stages)).toThrow(UsageError);
    expect(() => parseVerifyArgs(argv, stages)).toThrow(message);
  });
});
