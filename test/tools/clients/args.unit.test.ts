import { describe, expect, it } from 'vitest';
import { ClientsUsageError, parseCommandLine } from '../../../tools/clients/args.js';

describe('npm run clients: command line', () => {
  it('reads create, list and revoke', () => {
    expect(parseCommandLine(['create', '--name', 'acme'])).toEqual({ command: 'create', name: 'acme', json: false });
    expect(parseCommandLine(['list', '--json'])).toEqual({ command: 'list', json: true });
    expect(parseCommandLine(['revoke', 'acme'])).toEqual({ command: 'revoke', client: 'acme', json: false });
    expect(parseCommandLine([])).toEqual({ command: 'help' });
  });

  it('refuses what it cannot do, saying why', () => {
    for (const argv of [['create'], ['create', '--name', 'no spaces'], ['revoke'], ['delete', 'acme'], ['list', '--bogus']]) {
      expect(() => parseCommandLine(argv), argv.join(' ')).toThrow(ClientsUsageError);
    }
  });
});
