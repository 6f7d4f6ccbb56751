import { describe, expect, it } from 'vitest';
import { parseCommandLine, parseOffsetRange, usage } from '../../../tools/dlq/args.js';
import { DlqUsageError } from '../../../tools/dlq/errors.js';
import { errorCodes } from '../../../shared/errors.js';
import { batchIngestionErrorCodes } from '../../../services/batch-ingestion/errors.js';

describe('dlq tool: command line', () => {
  it('parses offset ranges and rejects bad ones', () => {
    expect(parseOffsetRange('3-9')).toEqual({ fromOffset: 3n, toOffset: 9n });
    expect(parseOffsetRange('10-')).toEqual({ fromOffset: 10n });
    expect(parseOffsetRange('-42')).toEqual({ toOffset: 42n });
    expect(parseOffsetRange('7')).toEqual({ fromOffset: 7n, toOffset: 7n });
    for (const bad of ['9-3', 'x', '-', '1-2-3', '-1-']) expect(() => parseOffsetRange(bad), bad).toThrow(DlqUsageError);
  });

  it('refuses risky or malformed invocations before doing anything', () => {
    expect(() => parseCommandLine(['replay', '--group', 'email-service'])).toThrow(/needs a selection/);
    expect(() => parseCommandLine(['replay', '--all'])).toThrow(/needs --group/);
    expect(() => parseCommandLine(['replay', '--group', 'email-service', '--all', '--reveal'])).toThrow(/--reveal not valid for replay/);
    expect(() => parseCommandLine(['purge', '--group', 'email-service', '--all', '--key', 'k'])).toThrow(/--all cannot be combined/);
    expect(() => parseCommandLine(['frobnicate'])).toThrow(/unknown command/);
    expect(() => parseCommandLine(['list', '--bogus'])).toThrow(DlqUsageError);
    expect(() => parseCommandLine(['replay', '--group', 'g', '--all', '--rate', '0'])).toThrow(/--rate/);
    expect(parseCommandLine([])).toEqual({ command: 'help' });
    expect(parseCommandLine(['replay', '--group', 'email-service', '--key', 'k', '--dry-run'])).toMatchObject({
      command: 'replay',
      dryRun: true,
      maxReplays: 3,
      filter: { key: 'k' },
    });
  });

  it('names the ad-hoc group flags that go together', () => {
    expect(() => parseCommandLine(['show', '--group-id', 'adhoc'])).toThrow(/--group-id needs --topic/);
    expect(() => parseCommandLine(['show', '--group-id', ' ', '--topic', 'order.created'])).toThrow(/--group-id must not be empty/);
    expect(() => parseCommandLine(['show', '--group', 'email-service', '--group-id', 'adhoc', '--topic', 'order.created'])).toThrow(/not both/);
  });

  it('selects by error code on every message command, and only by a code from the list', () => {
    for (const command of ['show', 'replay', 'purge']) {
      expect(parseCommandLine([command, '--group', 'email-service', '--error-code', 'POISON_PILL'])).toMatchObject({
        command,
        filter: { errorCode: 'POISON_PILL' },
      });
    }
    expect(() => parseCommandLine(['show', '--error-code', 'POISON'])).toThrow(/unknown code "POISON"/);
    expect(() => parseCommandLine(['list', '--error-code', 'POISON_PILL'])).toThrow(/--error-code not valid for list/);
    expect(() => parseCommandLine(['purge', '--group', 'email-service', '--all', '--error-code', 'PERMANENT'])).toThrow(/--all cannot be combined/);
  });

  it('documents every error code in the help text', () => {
    for (const code of [...errorCodes, ...batchIngestionErrorCodes]) expect(usage).toMatch(new RegExp(`^\\s+${code}\\s+\\S`, 'm'));
  });
});
