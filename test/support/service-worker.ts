/**
 * A consumer service for shutdown tests, wired by the kit's runConsumerService like the real ones:
 * the group named by WORKER_GROUP_ID over order.created; each event's effect is a row in
 * runtime_test_effects, written by handleOnce in the transaction that claims the event, after
 * WORKER_DELAY_MS of "work" inside that transaction (a handler in flight holds a connection).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { loadConfig, variable } from '../../shared/config.js';
import { topics } from '../../shared/contracts/topics.js';
import { runConsumerService } from '../../shared/kit/consumer-service.js';
import { outboxServiceVariables } from '../../shared/kit/variables.js';

const groupId = process.env.WORKER_GROUP_ID ?? '';

await runConsumerService(
  'service-worker',
  { groupId, topics: [topics.orderCreated] },
  {
    config: () =>
      loadConfig({
        ...outboxServiceVariables,
        groupId: variable('WORKER_GROUP_ID', z.string().min(1)),
        delayMs: variable('WORKER_DELAY_MS', z.coerce.number().int().min(0).default(0)),
      }),
    database: { sql: [] },
    consume: (runtime, { config, handleOnce }) => {
      runtime.on(topics.orderCreated, async (event) => {
        event.logger.info('handling');
        await handleOnce(event, async (tx) => {
          await sleep(config.delayMs);
          await tx.query('INSERT INTO runtime_test_effects (consumer_group, event_id, pid) VALUES ($1, $2, $3)', [
            config.groupId,
            event.eventId,
            process.pid,
          ]);
        });
        event.logger.info('handled');
      });
    },
  },
);
