# syntax=docker/dockerfile:1
# One image for every process of the pipeline; the command picks which, e.g.
#   node --import tsx services/inventory/main.ts   (a service, see docker-compose.yml)
#   node --import tsx scripts/provision.ts         (the default: create topics, register schemas)
# Services run from TypeScript through tsx, a production dependency: no build step, and the
# schemas/*.avsc files are read at run time next to the sources, as in development.

# Production dependencies only, installed exactly from the lock file. npm and its cache stay in
# this stage; the runtime stage takes node_modules alone.
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Owned by root, run as `node`: the process cannot rewrite its own code or dependencies.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY schemas ./schemas
COPY shared ./shared
COPY services ./services
COPY scripts ./scripts
USER node
# No shell in between: node is PID 1 and gets SIGTERM itself, so graceful shutdown runs.
CMD ["node", "--import", "tsx", "scripts/provision.ts"]
