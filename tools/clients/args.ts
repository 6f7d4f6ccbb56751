import { parseArgs } from 'node:util';
import { clientNamePattern } from '../../shared/clients/client-store.js';

export type ClientsCommand =
  | { command: 'create'; name: string; json: boolean }
  | { command: 'list'; json: boolean }
  | { command: 'revoke'; client: string; json: boolean }
  | { command: 'help' };

export const usage = `npm run clients -- <command>
  create --name <name>   a new API client; prints its key once (only its hash is stored)
  list                   the clients: id, name, created, revoked
  revoke <name|id>       the client's key stops working at once
options: --json (machine-readable output), --help`;

export class ClientsUsageError extends Error {
  readonly code = 'CLIENTS_USAGE';
  readonly retriable = false;
  constructor(message: string) {
    super(message);
    this.name = 'ClientsUsageError';
  }
}

export function parseCommandLine(argv: readonly string[]): ClientsCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { name: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
    });
  } catch (error) {
    throw new ClientsUsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') return { command: 'help' };
  const json = values.json;
  switch (command) {
    case 'create': {
      const name = values.name ?? rest[0];
      if (name === undefined) throw new ClientsUsageError('create needs --name <name>');
      if (!clientNamePattern.test(name)) throw new ClientsUsageError(`"${name}" is not a client name (letters, digits, . _ -; at most 63)`);
      return { command: 'create', name, json };
    }
    case 'list':
      return { command: 'list', json };
    case 'revoke': {
      const client = rest[0] ?? values.name;
      if (client === undefined) throw new ClientsUsageError('revoke needs the client (its name or id)');
      return { command: 'revoke', client, json };
    }
    default:
      throw new ClientsUsageError(`unknown command "${command}" (create, list, revoke)`);
  }
}
