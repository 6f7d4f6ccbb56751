import { PermanentError } from '../errors.js';

/** The stable codes of the DLQ operations' errors (see errorCodes in shared/errors.ts). Neither is worth a retry. */
export const dlqErrorCodes = ['DLQ_SELECTION', 'DLQ_REFUSED'] as const;
export type DlqErrorCode = (typeof dlqErrorCodes)[number];

/**
 * The selection names nothing the topology declares (an unknown group or topic, an ad-hoc group
 * without its topic): bad input, nothing was read or changed.
 */
export class DlqSelectionError extends PermanentError {
  override readonly code: string = 'DLQ_SELECTION' satisfies DlqErrorCode;
}

/**
 * The operation understood its input but will not do it as asked (a purge that is not a prefix, a DLQ
 * or retry topic that was never provisioned, a group without a retry tier): nothing was changed.
 */
export class DlqRefusedError extends PermanentError {
  override readonly code: string = 'DLQ_REFUSED' satisfies DlqErrorCode;
}
