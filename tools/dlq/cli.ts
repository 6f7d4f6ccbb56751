/** `npm run dlq -- <command>`: list, show, replay and purge the consumer groups' dead letters. */
import { databaseVariables, kafkaVariables, loadConfig, registryVariables } from '../../shared/config.js';
import { topology } from '../../shared/contracts/topics.js';
import { applySchema, createPool, type Pool } from '../../shared/db.js';
import {
  DlqRefusedError,
  DlqSelectionError,
  dlqOperationsSql,
  listDlqs,
  purge,
  replay,
  resolveTargets,
  showMessages,
  type DlqContext,
  type DlqTarget,
} from '../../shared/dlq/index.js';
import { createKafka } from '../../shared/kafka/client.js';
import { createAdmin } from '../../shared/kafka/tooling-clients.js';
import { describeFallback, fallBackToLocalStack } from '../../shared/local-stack-addresses.js';
import type { Logger } from '../../shared/logger.js';
import { AvroSerde } from '../../shared/registry/serde.js';
import { runTask } from '../../shared/service.js';
import { parseCommandLine, usage, type ParsedCommand } from './args.js';
import { DlqUsageError } from './errors.js';
import { renderList, renderPurge, renderReplay, renderShow, toJson } from './render.js';

const EXIT_REFUSED = 2;
const EXIT_SOME_REFUSED = 3;

// The shared logger writes to stdout, where the tool's own output goes: keep it to trouble, and
// with --json to failures only, so scripts can parse what they read.
if (process.argv.includes('--json')) process.env.LOG_LEVEL = 'error';
else process.env.LOG_LEVEL ??= 'warn';

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

type Command = Exclude<ParsedCommand, { command: 'help' }>;

async function run(parsed: Command, targets: DlqTarget[], context: DlqContext): Promise<number> {
  const output = (json: unknown, text: string) => print(parsed.json ? toJson(json) : text);
  switch (parsed.command) {
    case 'list': {
      const summaries = await listDlqs(context, targets);
      output(summaries, renderList(summaries));
      return 0;
    }
    case 'show': {
      const result = await showMessages(context, targets, { filter: parsed.filter, limit: parsed.limit, reveal: parsed.reveal });
      output(result, renderShow(result, parsed.reveal));
      return 0;
    }
    case 'replay': {
      const result = await replay(context, targets, parsed);
      output(result, renderReplay(result));
      return result.refused > 0 ? EXIT_SOME_REFUSED : 0;
    }
    case 'purge': {
      const { filter, actor, replayedOnly, limit, dryRun, yes } = parsed;
      const result = await purge(context, targets, { filter, actor, replayedOnly, limit, dryRun, confirmed: yes });
      output(result, renderPurge(result));
      return result.status === 'needs-confirmation' ? EXIT_REFUSED : 0;
    }
  }
}

async function main(logger: Logger): Promise<void> {
  let parsed: ParsedCommand;
  let targets: DlqTarget[];
  try {
    parsed = parseCommandLine(process.argv.slice(2));
    if (parsed.command === 'help') {
      print(usage);
      return;
    }
    // Before connecting anywhere: bad input fails fast.
    targets = resolveTargets(topology, parsed.targets);
  } catch (error) {
    if (!(error instanceof DlqUsageError || error instanceof DlqSelectionError)) throw error;
    process.stderr.write(`dlq: ${error.message}\n\nRun npm run dlq -- --help for usage.\n`);
    process.exitCode = EXIT_REFUSED;
    return;
  }
  // A tool for people: unset addresses mean the local stack's (what `npm start` runs), and it says
  // which it filled in (on stderr: stdout is the tool's output). Only replay and purge use the database.
  const usesDatabase = parsed.command === 'replay' || parsed.command === 'purge';
  const { environment, filled } = fallBackToLocalStack([
    'KAFKA_BROKERS',
    'SCHEMA_REGISTRY_URL',
    ...(usesDatabase ? (['DATABASE_URL'] as const) : []),
  ]);
  const notice = describeFallback('dlq', filled);
  if (notice) process.stderr.write(`${notice}\n`);
  const config = loadConfig({ ...kafkaVariables, ...registryVariables }, environment);
  const kafka = createKafka(config, logger, 'dlq-tool');
  const admin = createAdmin(kafka);
  let pool: Promise<Pool> | undefined;
  const context: DlqContext = {
    kafka,
    admin,
    serde: AvroSerde.connect(config.schemaRegistryUrl),
    logger,
    // Only replay and purge need the database; list and show work without DATABASE_URL.
    pool: () =>
      (pool ??= (async () => {
        const created = createPool(loadConfig(databaseVariables, environment).databaseUrl, logger, { max: 2 });
        await applySchema(created, dlqOperationsSql);
        return created;
      })()),
  };
  await admin.connect();
  try {
    process.exitCode = await run(parsed, targets, context);
  } catch (error) {
    if (!(error instanceof DlqUsageError || error instanceof DlqSelectionError || error instanceof DlqRefusedError)) throw error;
    process.stderr.write(`dlq: ${error.message}\n`);
    process.exitCode = EXIT_REFUSED;
  } finally {
    await admin.disconnect();
    await pool?.then((opened) => opened.end()).catch(() => undefined);
  }
}

await runTask('dlq', main);
