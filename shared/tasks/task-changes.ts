import type { Logger } from '../logger.js';
import { NotifyListener } from '../notify-listener.js';
import { TASK_CHANGES_CHANNEL, taskStates, type TaskState } from './store.js';

/** One notification of the tasks table: a visible change or a claim, after its commit. */
export interface TaskChange {
  id: string;
  version: number;
  state: TaskState;
  fence: number;
  queue: string;
}

/** Reads "<id> <version> <state> <fence> <queue>" (tasks.sql, tasks_notify); undefined for anything else. */
export function parseTaskChange(payload: string): TaskChange | undefined {
  const [id, version, state, fence, queue, ...rest] = payload.split(' ');
  if (!id || !queue || rest.length > 0 || !taskStates.includes(state as TaskState)) return undefined;
  const change = { id, version: Number(version), state: state as TaskState, fence: Number(fence), queue };
  return Number.isSafeInteger(change.version) && Number.isSafeInteger(change.fence) ? change : undefined;
}

/** `undefined`: the listen connection was lost and is back; changes may have been missed, look again. */
export type ChangeListener = (change: TaskChange | undefined) => void;

/**
 * The process's one LISTEN on the tasks' changes, fanned out to whoever follows a task (a progress
 * stream, the worker running it) or every change (idle workers waiting for a queued task).
 */
export class TaskChanges {
  private readonly listener: NotifyListener;
  private readonly byTask = new Map<string, Set<ChangeListener>>();
  private readonly everything = new Set<ChangeListener>();

  constructor(databaseUrl: string, logger: Logger) {
    this.listener = new NotifyListener(databaseUrl, [TASK_CHANGES_CHANNEL], logger.child({ component: 'task-changes' }), (payload) => {
      const change = payload === undefined ? undefined : parseTaskChange(payload);
      if (payload !== undefined && !change) return;
      for (const listener of this.everything) listener(change);
      const following = change ? this.byTask.get(change.id) : [...this.byTask.values()].flatMap((set) => [...set]);
      for (const listener of following ?? []) listener(change);
    });
  }

  start(): void {
    this.listener.start();
  }

  stop(): Promise<void> {
    return this.listener.stop();
  }

  /** Follows one task; returns the unsubscribe. */
  onTask(id: string, listener: ChangeListener): () => void {
    let set = this.byTask.get(id);
    if (!set) this.byTask.set(id, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.byTask.delete(id);
    };
  }

  onAny(listener: ChangeListener): () => void {
    this.everything.add(listener);
    return () => this.everything.delete(listener);
  }
}
