import type { ReplyErrorFields } from './headers.js';

/** A reply as the requester's caller gets it: the replier's answer, or its typed error. */
export type Reply<T> = { kind: 'answer'; value: T } | { kind: 'error'; error: ReplyErrorFields };

/** How one request ended: its reply, or a timeout whose reply will be served from the result store. */
export type Outcome<T> = (Reply<T> | { kind: 'timeout' }) & { correlationId: string };
