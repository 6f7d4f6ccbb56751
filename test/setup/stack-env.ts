import { inject } from 'vitest';

// Every test process sees the stack's addresses as the services would: through the environment.
Object.assign(process.env, inject('stackEnv'));

// Services and helpers log at info by default; tests only need to see trouble.
process.env.LOG_LEVEL ??= 'warn';
