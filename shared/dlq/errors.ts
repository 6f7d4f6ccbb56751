/**
 * The selection names nothing the topology declares (an unknown group or topic, an ad-hoc group
 * without its topic): bad input, nothing was read or changed.
 */
export class DlqSelectionError extends Error {
  override readonly name = 'DlqSelectionError';
}

/**
 * The operation understood its input but will not do it as asked (a purge that is not a prefix, a DLQ
 * or retry topic that was never provisioned, a group without a retry tier): nothing was changed.
 */
export class DlqRefusedError extends Error {
  override readonly name = 'DlqRefusedError';
}
