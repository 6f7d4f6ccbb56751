/** `npm run clients -- <command>`: create, list and revoke the API clients of the order, exports and webhooks APIs. */
import { ClientNameTakenError, ClientStore, clientsSql, type ClientView } from '../../shared/clients/client-store.js';
import { databaseVariables, loadConfig } from '../../shared/config.js';
import { applySchema, createPool } from '../../shared/db.js';
import { describeFallback, fallBackToLocalStack } from '../../shared/local-stack-addresses.js';
import type { Logger } from '../../shared/logger.js';
import { runTask } from '../../shared/service.js';
import { ClientsUsageError, parseCommandLine, usage, type ClientsCommand } from './args.js';

const EXIT_REFUSED = 2;

// The shared logger writes to stdout, where the tool's output goes: keep it to trouble.
process.env.LOG_LEVEL ??= 'warn';

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

function row(client: ClientView): string {
  return `${client.id}  ${client.name.padEnd(20)}  created ${client.createdAt}${client.revokedAt ? `  REVOKED ${client.revokedAt}` : ''}`;
}

async function run(parsed: Exclude<ClientsCommand, { command: 'help' }>, clients: ClientStore): Promise<number> {
  switch (parsed.command) {
    case 'create': {
      const created = await clients.create(parsed.name);
      if (parsed.json) print(JSON.stringify(created));
      else print(`${row(created)}\nkey (shown once, only its hash is stored): ${created.key}`);
      return 0;
    }
    case 'list': {
      const all = await clients.list();
      print(parsed.json ? JSON.stringify(all) : all.length === 0 ? 'no clients' : all.map(row).join('\n'));
      return 0;
    }
    case 'revoke': {
      const revoked = await clients.revoke(parsed.client);
      if (!revoked) {
        process.stderr.write(`clients: no active client "${parsed.client}"\n`);
        return EXIT_REFUSED;
      }
      print(parsed.json ? JSON.stringify(revoked) : `revoked: ${row(revoked)}`);
      return 0;
    }
  }
}

async function main(logger: Logger): Promise<void> {
  let parsed: ClientsCommand;
  try {
    parsed = parseCommandLine(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof ClientsUsageError)) throw error;
    process.stderr.write(`clients: ${error.message}\n\n${usage}\n`);
    process.exitCode = EXIT_REFUSED;
    return;
  }
  if (parsed.command === 'help') {
    print(usage);
    return;
  }
  // A tool for people: an unset DATABASE_URL means the local stack's, and it says so on stderr.
  const { environment, filled } = fallBackToLocalStack(['DATABASE_URL']);
  const notice = describeFallback('clients', filled);
  if (notice) process.stderr.write(`${notice}\n`);
  const pool = createPool(loadConfig(databaseVariables, environment).databaseUrl, logger, { max: 1 });
  try {
    await applySchema(pool, clientsSql);
    process.exitCode = await run(parsed, new ClientStore(pool));
  } catch (error) {
    if (!(error instanceof ClientNameTakenError)) throw error;
    process.stderr.write(`clients: ${error.message}\n`);
    process.exitCode = EXIT_REFUSED;
  } finally {
    await pool.end();
  }
}

await runTask('clients', main);
