import { describe, expect, it } from 'vitest';
import { FlushAbandonedError } from '../../../services/batch-ingestion/batcher.js';
import { batchIngestionErrorCodes, RowRejectedError, StoreUnavailableError } from '../../../services/batch-ingestion/errors.js';
import { RowsRejectedError } from '../../../services/batch-ingestion/store.js';
import { errorCodes, PipelineError } from '../../../shared/errors.js';

/** One instance of every batch-ingestion error class. */
const instances: PipelineError[] = [
  new StoreUnavailableError('down'),
  new RowRejectedError('22001', 'value too long'),
  new FlushAbandonedError('stopping'),
];

describe('batch ingestion error codes', () => {
  it('gives every error class its own code from its list', () => {
    for (const error of instances) expect(batchIngestionErrorCodes, error.name).toContain(error.code);
    expect(instances.map((error) => error.code)).toEqual(['STORE_UNAVAILABLE', 'ROW_REJECTED', 'FLUSH_ABANDONED']);
  });

  it('shares the code of the class it refines', () => {
    expect(new RowsRejectedError('23505', 'duplicate', 3).code).toBe('ROW_REJECTED');
  });

  it('uses no platform code, so a code names one class', () => {
    for (const code of batchIngestionErrorCodes) expect(errorCodes as readonly string[]).not.toContain(code);
  });
});
