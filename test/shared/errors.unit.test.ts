import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DependencyUnavailableError,
  errorCode,
  errorCodes,
  PermanentError,
  PipelineError,
  PoisonPillError,
  TransientError,
  unclassifiedErrorCode,
} from '../../shared/errors.js';
import { ServiceDefinitionError } from '../../shared/kit/service-parts.js';
import { PollTimeoutError } from '../../shared/retry/poll-until.js';
import { LeaseLostError } from '../../shared/tasks/errors.js';

/** One instance of every platform error class; a new class belongs here (and its code in errorCodes). */
const instances: PipelineError[] = [
  new TransientError('flaky'),
  new DependencyUnavailableError('database refuses connections'),
  new PermanentError('broken'),
  new ConfigError([{ variable: 'X', problem: 'is required' }]),
  new PoisonPillError('not-framed', 'not Avro'),
  new PollTimeoutError('the broker', 1000),
  new ServiceDefinitionError('no outbox declared'),
  new LeaseLostError('t-1', 3),
];

describe('error codes', () => {
  it('gives every error class its own code from the closed list', () => {
    for (const error of instances) expect(errorCodes, error.name).toContain(error.code);
    expect(new Set(instances.map((error) => error.code)).size).toBe(instances.length);
    expect(instances.map((error) => [error.name, error.code])).toEqual([
      ['TransientError', 'TRANSIENT'],
      ['DependencyUnavailableError', 'DEPENDENCY_UNAVAILABLE'],
      ['PermanentError', 'PERMANENT'],
      ['ConfigError', 'CONFIG_INVALID'],
      ['PoisonPillError', 'POISON_PILL'],
      ['PollTimeoutError', 'POLL_TIMEOUT'],
      ['ServiceDefinitionError', 'SERVICE_DEFINITION'],
      ['LeaseLostError', 'LEASE_LOST'],
    ]);
  });

  it('lets a subclass without a code of its own share its parent\'s', () => {
    class OrderRejectedError extends PermanentError {}
    expect(new OrderRejectedError('no').code).toBe('PERMANENT');
  });

  it('records anything that is not a PipelineError as UNCLASSIFIED', () => {
    expect(errorCodes).toContain(unclassifiedErrorCode);
    expect(errorCode(new TypeError('x is undefined'))).toBe('UNCLASSIFIED');
    expect(errorCode(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe('UNCLASSIFIED');
    expect(errorCode('a thrown string')).toBe('UNCLASSIFIED');
    expect(errorCode(new PoisonPillError('invalid-value', 'bad'))).toBe('POISON_PILL');
  });

  it('keeps the list closed and its codes in one style', () => {
    expect(new Set(errorCodes).size).toBe(errorCodes.length);
    for (const code of errorCodes) expect(code).toMatch(/^[A-Z][A-Z_]*$/);
  });
});
