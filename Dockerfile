# syntax=docker/dockerfile:1
# One image for every process of the pipeline; the command picks which, e.g.
#   node dist/services/inventory/main.js   (a service, see docker-compose.yml)
#   node dist/scripts/provision.js         (the default: create topics, register schemas)
# Production runs JavaScript compiled once here (`npm run build`, tsc), not a TypeScript loader: no
# compiler in the image, and start-up does not transpile. The schemas/*.avsc and *.sql files the code
# loads at run time are copied next to the compiled files, at the same relative paths.

# Every dependency, exactly from the lock file. Install scripts stay off: the only production
# dependencies with none to run, and the `node` devDependency would fetch a second Node (the base
# image has the right one). patch-package then applies patches/ (a fix to kafkajs), which `npm ci`
# would have run as postinstall.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --ignore-scripts --no-audit --no-fund && npx --no-install patch-package
COPY tsconfig.json tsconfig.build.json ./
COPY schemas ./schemas
COPY shared ./shared
COPY services ./services
COPY scripts ./scripts
RUN npm run build
# Production dependencies only from here on: the patched kafkajs stays as it is.
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Owned by root, run as `node`: the process cannot rewrite its own code or dependencies.
# package.json's `"type": "module"` is what makes dist/*.js ES modules.
COPY package.json package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
# No shell in between: node is PID 1 and gets SIGTERM itself, so graceful shutdown runs.
CMD ["node", "dist/scripts/provision.js"]
