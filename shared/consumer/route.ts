import type { BatchControl, SourceBatch, SourceMessage } from '../kafka/port.js';
import type { TopicDeclaration } from '../kafka/topology.js';
import type { BatchHeartbeat } from './heartbeat.js';
import type { BatchHandler, EventHandler } from './types.js';

export type Registration =
  | { kind: 'event'; source: TopicDeclaration; handle: EventHandler<unknown> }
  | { kind: 'batch'; source: TopicDeclaration; handle: BatchHandler<unknown> };

/** How the due messages of one fetched batch are handled: per event, per batch, or per batch pipelined. */
export interface ConsumePath {
  consume(route: Route, batch: SourceBatch, messages: readonly SourceMessage[], control: BatchControl, heartbeat: BatchHeartbeat): Promise<void>;
}

/** A physical topic the group reads (a source topic, tier 0, or one of its retry tiers) and the path picked for it at start. */
export interface Route {
  readonly registration: Registration;
  readonly tier: number;
  readonly path: ConsumePath;
}
