import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applySchema } from '../../../shared/db.js';
import { freshDatabase, type OwnDatabase } from '../../support/databases.js';

const schema = new URL('../../../services/email/schema.sql', import.meta.url);
let db: OwnDatabase;

beforeAll(async () => {
  db = await freshDatabase(process.env.DATABASE_URL!, 'op_email');
});

afterAll(async () => {
  await db?.drop();
});

describe('email service schema', () => {
  it('migrates an email_sends table of the earlier shape, whose rows were all sent', async () => {
    // The table as the service created it when a row was written only with its send.
    await db.pool.query(`CREATE TABLE email_sends (
      order_id text PRIMARY KEY, cause_event_id text NOT NULL, message_id text NOT NULL, handled_by text NOT NULL,
      sent_at timestamptz NOT NULL DEFAULT now())`);
    await db.pool.query("INSERT INTO email_sends (order_id, cause_event_id, message_id, handled_by) VALUES ('o1', 'e1', '<m1>', 'email-1')");

    await applySchema(db.pool, schema);
    await applySchema(db.pool, schema);

    const column = await db.pool.query<{ is_nullable: string; column_default: string | null }>(
      "SELECT is_nullable, column_default FROM information_schema.columns WHERE table_name = 'email_sends' AND column_name = 'sent_at'",
    );
    expect(column.rows).toEqual([{ is_nullable: 'YES', column_default: 'now()' }]);
    const rows = await db.pool.query<{ order_id: string; sent: boolean }>('SELECT order_id, sent_at IS NOT NULL AS sent FROM email_sends');
    expect(rows.rows).toEqual([{ order_id: 'o1', sent: true }]);
    // An attempt can now be on record before its send.
    await db.pool.query("INSERT INTO email_sends (order_id, cause_event_id, message_id, handled_by, sent_at) VALUES ('o2', 'e2', '<m2>', 'email-1', NULL)");
  });
});
