/** Which messages of the selected DLQs an operation works on; every set field must match. */
export interface MessageFilter {
  partition?: number;
  /** Inclusive bounds on the DLQ offset. */
  fromOffset?: bigint;
  toOffset?: bigint;
  key?: string;
  /** The `failure-error-class` header (the class name; kept for compatibility). */
  errorClass?: string;
  /** The `failure-error-code` header: the error's stable code (see errorCodes in shared/errors.ts). */
  errorCode?: string;
}

export function isEmptyFilter(filter: MessageFilter): boolean {
  return Object.keys(filter).length === 0;
}

/** The fields a filter looks at, whatever the message type. */
export interface Filterable {
  partition: number;
  offset: string;
  key: string | null;
  errorClass: string | undefined;
  errorCode: string | undefined;
}

export function matches(message: Filterable, filter: MessageFilter): boolean {
  const offset = BigInt(message.offset);
  return (
    (filter.partition === undefined || message.partition === filter.partition) &&
    (filter.fromOffset === undefined || offset >= filter.fromOffset) &&
    (filter.toOffset === undefined || offset <= filter.toOffset) &&
    (filter.key === undefined || message.key === filter.key) &&
    (filter.errorClass === undefined || message.errorClass === filter.errorClass) &&
    (filter.errorCode === undefined || message.errorCode === filter.errorCode)
  );
}

/** The filter as stored in the operation log (JSON has no bigint). */
export function describeFilter(filter: MessageFilter): Record<string, string | number> {
  const described: Record<string, string | number> = {};
  if (filter.partition !== undefined) described.partition = filter.partition;
  if (filter.fromOffset !== undefined || filter.toOffset !== undefined) {
    described.offsets = `${filter.fromOffset ?? ''}-${filter.toOffset ?? ''}`;
  }
  if (filter.key !== undefined) described.key = filter.key;
  if (filter.errorClass !== undefined) described.errorClass = filter.errorClass;
  if (filter.errorCode !== undefined) described.errorCode = filter.errorCode;
  return described;
}
