import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { batchIngestionErrorCodes, type BatchIngestionErrorCode } from '../../services/batch-ingestion/errors.js';
import { defaultMaxReplays, defaultRatePerSecond, isEmptyFilter, type MessageFilter, type TargetOptions } from '../../shared/dlq/index.js';
import { errorCodes, type ErrorCode } from '../../shared/errors.js';
import { DlqUsageError } from './errors.js';

/**
 * Every code a dead letter's `failure-error-code` can hold, with what it means. A Record over the
 * closed lists, so a code added beside its class fails the type check here until it is described.
 */
const errorCodeMeanings: Record<ErrorCode | BatchIngestionErrorCode, string> = {
  TRANSIENT: 'may pass on its own (a timeout, a dependency down)',
  DEPENDENCY_UNAVAILABLE: 'a database or mail server could not be reached (the runtime waits for it, spending no attempt)',
  PERMANENT: 'no retry can fix it (invalid data, an unknown reference)',
  CONFIG_INVALID: 'configuration missing or malformed',
  POISON_PILL: "bytes that never decode with the topic's schema",
  POLL_TIMEOUT: 'a condition waited for did not hold in time (a dependency not ready)',
  HANDLER_TIMEOUT: "the handler did not settle within its deadline (a call to another system hung); it was abandoned",
  SERVICE_DEFINITION: 'a service asked for a part it did not declare (a bug in its wiring)',
  LEASE_LOST: 'a task worker no longer held its lease (taken over or cancelled); its writes were refused',
  REQUEST_REPLY_OVERLOADED: 'request-reply: too many requests waiting for replies (the caller gets 503)',
  REPLY_CONSUMER_NOT_READY: 'request-reply: the reply consumer was not assigned yet (the caller gets 503)',
  VALUE_RELEASED: "a bulk handler read an event's value after releasing it (a bug in the handler)",
  UNCLASSIFIED: 'not a pipeline error (a bug, a driver error)',
  STORE_UNAVAILABLE: 'batch ingestion: the analytics store takes no writes',
  ROW_REJECTED: "batch ingestion: PostgreSQL rejected the row's values",
  FLUSH_ABANDONED: 'batch ingestion: the batch was given up (stopping, rebalancing)',
};

const knownErrorCodes: readonly string[] = [...errorCodes, ...batchIngestionErrorCodes];

const errorCodeHelp = knownErrorCodes
  .map((code) => `                                    ${code.padEnd(22)} ${errorCodeMeanings[code as keyof typeof errorCodeMeanings]}`)
  .join('\n');

/** Who runs the command: --actor when given, else the OS user. */
export function defaultActor(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

export const usage = `Dead letters of the pipeline's consumer groups.

Usage: npm run dlq -- <command> [options]

Commands:
  list     per group and source topic: messages waiting, the oldest, the top error classes
  show     messages with their decoded value and failure headers
  replay   send messages back to the group's own first retry tier (no other group sees them again)
  purge    delete handled messages: each partition's oldest ones, up to an offset (Kafka cannot delete
           single messages)

Which DLQs (taken from shared/contracts/topics.ts; DLQ topic names are never typed):
  --group <groupId>               a declared consumer group; repeatable. list/show default: every group
  --topic <topic>                 with --group: only that declared source topic
  --group-id <id> --topic <topic> an ad-hoc group (tests, experiments) reading a declared topic

Which messages (show, replay, purge):
  --partition <n>                 DLQ partition
  --offsets <from>-<to>           DLQ offsets, inclusive; one end may be left out: 10-, -42, or one offset
  --key <key>                     message key (the order id)
  --error-class <name>            e.g. PermanentError, PoisonPillError, TransientError (header failure-error-class)
  --error-code <code>             the error's stable code (header failure-error-code), one of:
${errorCodeHelp}
                                  dead letters from before the header have none: select those by --error-class
  --all                           replay/purge: every message (needed when no other filter is given)
  --replayed                      purge: only messages a replay has sent back (the operation log says so)
  --limit <n>                     at most n messages, lowest offsets first (show: default 20; 0 = all)

show:
  --reveal                        print personal data in clear; by default \`email\` fields and
                                  address-like text (also in headers and byte previews) are redacted

replay:
  --dry-run                       print what would be replayed; send and record nothing
  --rate <n>                      messages per second (default ${defaultRatePerSecond})
  --max-replays <n>               refuse messages replayed n times already (header dlq-replays; default
                                  ${defaultMaxReplays}); exit code 3 when any was refused
  --force                         replay even past --max-replays or when this DLQ entry was replayed before

purge:
  --dry-run                       print what would be deleted
  --yes                           confirm the deletion (without it nothing is deleted; exit code 2)

Common:
  --actor <name>                  who runs it, for the operation log (default: the OS user)
  --json                          machine-readable output
  -h, --help

Replays and purges are recorded in the database (DATABASE_URL), table dlq_operations.
Exit codes: 0 done, 1 failure, 2 bad input or refused (nothing changed), 3 replay refused some messages.`;

const options = {
  group: { type: 'string', multiple: true },
  'group-id': { type: 'string' },
  topic: { type: 'string' },
  partition: { type: 'string' },
  offsets: { type: 'string' },
  key: { type: 'string' },
  'error-class': { type: 'string' },
  'error-code': { type: 'string' },
  all: { type: 'boolean' },
  replayed: { type: 'boolean' },
  limit: { type: 'string' },
  reveal: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  rate: { type: 'string' },
  'max-replays': { type: 'string' },
  force: { type: 'boolean' },
  yes: { type: 'boolean' },
  actor: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type OptionName = keyof typeof options;

const commands = ['list', 'show', 'replay', 'purge'] as const;
type CommandName = (typeof commands)[number];

const selectionOptions: OptionName[] = ['group', 'group-id', 'topic', 'json', 'help'];
const filterOptions: OptionName[] = ['partition', 'offsets', 'key', 'error-class', 'error-code', 'limit'];
const allowed: Record<CommandName, ReadonlySet<OptionName>> = {
  list: new Set(selectionOptions),
  show: new Set([...selectionOptions, ...filterOptions, 'reveal']),
  replay: new Set([...selectionOptions, ...filterOptions, 'all', 'dry-run', 'rate', 'max-replays', 'force', 'actor']),
  purge: new Set([...selectionOptions, ...filterOptions, 'all', 'replayed', 'dry-run', 'yes', 'actor']),
};

export type ParsedCommand =
  | { command: 'help' }
  | {
      command: CommandName;
      targets: TargetOptions;
      filter: MessageFilter;
      limit: number;
      json: boolean;
      reveal: boolean;
      dryRun: boolean;
      ratePerSecond: number;
      maxReplays: number;
      force: boolean;
      yes: boolean;
      replayedOnly: boolean;
      actor: string;
    };

function positiveNumber(text: string, what: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) throw new DlqUsageError(`${what}: expected a positive number, got "${text}"`);
  return value;
}

function count(text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw new DlqUsageError(`${what}: expected a non-negative integer, got "${text}"`);
  return Number(text);
}

function nonNegativeInteger(text: string, what: string): bigint {
  if (!/^\d+$/.test(text)) throw new DlqUsageError(`${what}: expected a non-negative integer, got "${text}"`);
  return BigInt(text);
}

/** `7`, `3-9`, `10-` or `-42` (inclusive DLQ offsets). */
export function parseOffsetRange(text: string): { fromOffset?: bigint; toOffset?: bigint } {
  const match = /^(\d*)-(\d*)$/.exec(text.trim());
  if (!match) {
    const single = nonNegativeInteger(text.trim(), '--offsets');
    return { fromOffset: single, toOffset: single };
  }
  const [, from = '', to = ''] = match;
  if (from === '' && to === '') throw new DlqUsageError('--offsets: give at least one end, e.g. 10-, -42 or 3-9');
  const range = {
    ...(from !== '' && { fromOffset: BigInt(from) }),
    ...(to !== '' && { toOffset: BigInt(to) }),
  };
  if (range.fromOffset !== undefined && range.toOffset !== undefined && range.fromOffset > range.toOffset) {
    throw new DlqUsageError(`--offsets: the range ${text} is empty (start after end)`);
  }
  return range;
}

export interface FilterOptions {
  partition?: string;
  offsets?: string;
  key?: string;
  errorClass?: string;
  errorCode?: string;
}

export function parseFilter(options: FilterOptions): MessageFilter {
  const filter: MessageFilter = {};
  if (options.partition !== undefined) filter.partition = Number(nonNegativeInteger(options.partition, '--partition'));
  if (options.offsets !== undefined) Object.assign(filter, parseOffsetRange(options.offsets));
  if (options.key !== undefined) filter.key = options.key;
  if (options.errorClass !== undefined) filter.errorClass = options.errorClass;
  if (options.errorCode !== undefined) {
    // The list is closed: a typo would otherwise select nothing and look like an empty DLQ.
    if (!knownErrorCodes.includes(options.errorCode)) {
      throw new DlqUsageError(`--error-code: unknown code "${options.errorCode}"; codes: ${knownErrorCodes.join(', ')}`);
    }
    filter.errorCode = options.errorCode;
  }
  return filter;
}

/** The ad-hoc group's flags go together; said in flag names here, before the library sees them. */
function checkAdHocGroup(targets: TargetOptions): void {
  if (targets.groupId === undefined) return;
  if ((targets.groups ?? []).length > 0) throw new DlqUsageError('use either --group (declared groups) or --group-id with --topic, not both');
  if (targets.topic === undefined) throw new DlqUsageError('--group-id needs --topic <declared topic name>');
  if (targets.groupId.trim() === '') throw new DlqUsageError('--group-id must not be empty');
}

export function parseCommandLine(argv: readonly string[]): ParsedCommand {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof options; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    // node:util reports unknown options and missing values as TypeErrors with a readable message.
    throw new DlqUsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help || positionals[0] === 'help' || positionals.length === 0) return { command: 'help' };
  const [name, ...extra] = positionals;
  const command = commands.find((c) => c === name);
  if (!command) throw new DlqUsageError(`unknown command "${name}"; commands: ${commands.join(', ')}`);
  if (extra.length > 0) throw new DlqUsageError(`unexpected argument(s): ${extra.join(' ')}`);
  const given = (Object.keys(values) as OptionName[]).filter((option) => values[option] !== undefined);
  const misplaced = given.filter((option) => !allowed[command].has(option));
  if (misplaced.length > 0) throw new DlqUsageError(`${misplaced.map((o) => `--${o}`).join(', ')} not valid for ${command}`);

  const filter = parseFilter({
    partition: values.partition,
    offsets: values.offsets,
    key: values.key,
    errorClass: values['error-class'],
    errorCode: values['error-code'],
  });
  const limit = values.limit === undefined ? (command === 'show' ? 20 : 0) : count(values.limit, '--limit');
  const targets: TargetOptions = { groups: values.group ?? [], groupId: values['group-id'], topic: values.topic };
  checkAdHocGroup(targets);
  if ((command === 'replay' || command === 'purge') && targets.groups?.length === 0 && targets.groupId === undefined) {
    throw new DlqUsageError(`${command} needs --group <groupId> (or --group-id <id> --topic <topic>)`);
  }
  if ((command === 'replay' || command === 'purge') && isEmptyFilter(filter) && !values.all && !values.replayed) {
    throw new DlqUsageError(`${command} needs a selection (--partition, --offsets, --key, --error-class, --error-code${command === 'purge' ? ', --replayed' : ''}) or --all`);
  }
  if (values.all && !isEmptyFilter(filter)) throw new DlqUsageError('--all cannot be combined with other message filters');
  return {
    command,
    targets,
    filter,
    limit,
    json: values.json ?? false,
    reveal: values.reveal ?? false,
    dryRun: values['dry-run'] ?? false,
    ratePerSecond: values.rate === undefined ? defaultRatePerSecond : positiveNumber(values.rate, '--rate'),
    maxReplays: values['max-replays'] === undefined ? defaultMaxReplays : count(values['max-replays'], '--max-replays'),
    force: values.force ?? false,
    yes: values.yes ?? false,
    replayedOnly: values.replayed ?? false,
    actor: values.actor ?? defaultActor(),
  };
}
